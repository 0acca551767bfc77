// The process that holds one sandbox between `passvol create` and `passvol delete`, as a containerd shim
// does: it creates the sandbox, says on its readiness pipe whether that worked, then serves the control
// socket until asked to delete: start, kill and exec of the sandbox's container or of containers added to it
// (a pod's others). The sandbox's container's output goes to container.log in the sandbox folder, an added
// one's to container-<id>.log.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PassvolError, toPassvolError } from '../../common/errors.js';
import type { Bundle } from '../oci/bundle.js';
import { readRequestBody } from '../request-body.js';
import { Sandbox, type SandboxDeps } from '../sandbox/sandbox.js';
import type { z } from 'zod';
import { readBundle } from '../oci/bundle.js';
import { AddContainerRequest, CONTROL_SOCKET, ExecRequest, KillRequest, RemoveContainerRequest, ResizeRequest, StartRequest, StdinRequest, type ShimReady } from './control-api.js';

/** What a route returns when it has answered on its own (a streamed exec). */
const STREAMED = Symbol('streamed');

async function body(req: IncomingMessage): Promise<unknown> {
  const text = await readRequestBody(req);
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new PassvolError('PV_ERR_INVALID_ARGUMENT', 'request body is not JSON');
  }
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(value));
}

/** Runs the shim: resolves when the sandbox has been deleted (or could not be created). */
export async function runSandboxShim(id: string, bundle: Bundle, deps: SandboxDeps, ready: (r: ShimReady) => void): Promise<void> {
  let sandbox: Sandbox;
  try {
    sandbox = await Sandbox.create(id, bundle, deps);
  } catch (e) {
    const err = toPassvolError(e);
    ready({ ok: false, code: err.code, message: err.message });
    return;
  }
  const dir = deps.dirs.dir(id);
  const socket = join(dir, CONTROL_SOCKET);
  // The sandbox's own container writes container.log; an added one container-<id>.log.
  const outputs = new Map<string, WriteStream>();
  const started = new Set<string>();
  let done: () => void = () => undefined;
  const deleted = new Promise<void>((r) => (done = r));
  const parse = async <T>(what: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, req: IncomingMessage): Promise<T> => {
    const r = schema.safeParse(await body(req));
    if (!r.success) throw new PassvolError('PV_ERR_INVALID_ARGUMENT', `${what}: ${r.error.issues.map((i) => i.message).join('; ')}`);
    return r.data;
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<unknown>> = {
    'POST /start': async (req) => {
      const { container } = await parse('start', StartRequest, req);
      const key = container ?? '';
      if (started.has(key)) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `${container ? `container ${container}` : `sandbox ${id}`} was started already`);
      started.add(key);
      const output = createWriteStream(join(dir, container ? `container-${container}.log` : 'container.log'), { flags: 'a' });
      outputs.set(key, output);
      try {
        const pid = await sandbox.start((_stream, data) => output.write(data), container);
        // The exit code lands in state.json through wait(); the VM stays until delete, as runc's would.
        void sandbox.wait(container).catch((e: Error) => deps.log.warn({ sandbox: id, err: e.message }, 'waiting for the container failed'));
        return { pid };
      } catch (e) {
        started.delete(key);
        throw e;
      }
    },
    'POST /kill': async (req) => {
      const r = await parse('kill', KillRequest, req);
      await sandbox.kill(r.signal, r.container, r.all);
      return {};
    },
    'POST /containers': async (req) => {
      const r = await parse('add container', AddContainerRequest, req);
      await sandbox.addContainer(r.id, await readBundle(r.bundle));
      return {};
    },
    'POST /containers/delete': async (req) => {
      const r = await parse('delete container', RemoveContainerRequest, req);
      await sandbox.removeContainer(r.id);
      outputs.get(r.id)?.end();
      outputs.delete(r.id);
      started.delete(r.id);
      return {};
    },
    'GET /containers': async () => ({ containers: sandbox.listContainers() }),
    'POST /exec': async (req, res) => {
      const { args, stdin, tty, ...options } = await parse('exec', ExecRequest, req);
      // Output as it comes, one JSON line per piece; the last line says how it ended.
      res.statusCode = 200;
      res.setHeader('content-type', 'application/x-ndjson');
      const line = (v: unknown) => res.write(`${JSON.stringify(v)}\n`);
      // A caller that goes away mid-exec (Ctrl-C) leaves nobody to feed or read it: it is ended, not left running.
      let running: string | undefined;
      res.once('close', () => {
        if (running !== undefined) void sandbox.abandonExec(running, options.container);
      });
      try {
        const onOutput = (s: 'stdout' | 'stderr', data: Buffer) => line({ stream: s, data: data.toString('base64') });
        const { exitCode } = await sandbox.exec(args, { ...options, keepStdin: stdin, ...(tty ? { terminal: tty } : {}) }, onOutput, (execId) => {
          running = execId;
          if (stdin || tty) line({ started: execId });
        });
        running = undefined;
        line({ exitCode });
      } catch (e) {
        const err = toPassvolError(e);
        line({ error: { code: err.code, message: err.message } });
      }
      res.end();
      return STREAMED;
    },
    'POST /stdin': async (req) => {
      const r = await parse('stdin', StdinRequest, req);
      if (r.data) await sandbox.execStdin(r.execId, Buffer.from(r.data, 'base64'), r.container);
      if (r.eof) await sandbox.execStdin(r.execId, 'end', r.container);
      return {};
    },
    'POST /resize': async (req) => {
      const r = await parse('resize', ResizeRequest, req);
      await sandbox.resizeTerminal(r.rows, r.cols, r.container, r.execId);
      return {};
    },
    'POST /delete': async () => {
      await sandbox.destroy();
      setImmediate(done);
      return {};
    },
  };
  const server = createServer((req, res) => {
    const route = routes[`${req.method} ${new URL(req.url ?? '/', 'http://shim').pathname}`];
    if (!route) return reply(res, 404, { code: 'PV_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` });
    route(req, res).then(
      (v) => v === STREAMED || reply(res, 200, v),
      (e: unknown) => {
        const err = toPassvolError(e);
        reply(res, err.httpStatus, { code: err.code, message: err.message });
      },
    );
  });
  try {
    await rm(socket, { force: true });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
  } catch (e) {
    // Nobody could ever reach this sandbox: undo it rather than leave a VM and bindings behind.
    await sandbox.destroy().catch((d: Error) => deps.log.warn({ sandbox: id, err: d.message }, 'cleanup after a failed start'));
    const err = toPassvolError(e);
    ready({ ok: false, code: err.code, message: `control socket ${socket}: ${err.message}` });
    return;
  }
  try {
    ready({ ok: true, vmPid: (await deps.dirs.read(id))?.vmPid ?? -1 });
  } catch (e) {
    // Whoever asked for the sandbox is gone (`passvol create` killed while the VM booted): nobody knows of
    // it, so it is undone now rather than left running for gc.
    deps.log.warn({ sandbox: id, err: (e as Error).message }, 'the creator is gone; removing the sandbox it asked for');
    await sandbox.destroy().catch((d: Error) => deps.log.warn({ sandbox: id, err: d.message }, 'cleanup after the creator left'));
    done();
  }
  await deleted;
  await new Promise<void>((r) => server.close(() => r()));
  for (const o of outputs.values()) o.end();
}
