// The process that holds one sandbox between `passvol create` and `passvol delete`, as a containerd shim
// does: it creates the sandbox, says on its readiness pipe whether that worked, then serves the control
// socket until asked to delete. The container's output goes to container.log in the sandbox folder.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PassvolError, toPassvolError } from '../../common/errors.js';
import type { Bundle } from '../oci/bundle.js';
import { readRequestBody } from '../request-body.js';
import { Sandbox, type SandboxDeps } from '../sandbox/sandbox.js';
import { CONTROL_SOCKET, ExecRequest, KillRequest, type ShimReady } from './control-api.js';

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

/** Waits for the container's exit however long it runs (each agent wait has a time limit of its own). */
async function waitForExit(sandbox: Sandbox, deps: SandboxDeps, id: string): Promise<void> {
  for (;;) {
    try {
      await sandbox.wait();
      return;
    } catch (e) {
      if (toPassvolError(e).code === 'PV_ERR_TIMEOUT') continue;
      deps.log.warn({ sandbox: id, err: (e as Error).message }, 'waiting for the container failed');
      return;
    }
  }
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
  const output = createWriteStream(join(dir, 'container.log'), { flags: 'a' });
  let started = false;
  let done: () => void = () => undefined;
  const deleted = new Promise<void>((r) => (done = r));

  const routes: Record<string, (req: IncomingMessage) => Promise<unknown>> = {
    'POST /start': async () => {
      if (started) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${id} was started already`);
      started = true;
      const pid = await sandbox.start((_stream, data) => output.write(data));
      // The exit code lands in state.json through wait(); the VM stays until delete, as runc's would.
      void waitForExit(sandbox, deps, id);
      return { pid };
    },
    'POST /kill': async (req) => {
      const r = KillRequest.safeParse(await body(req));
      if (!r.success) throw new PassvolError('PV_ERR_INVALID_ARGUMENT', `kill: ${r.error.issues.map((i) => i.message).join('; ')}`);
      await sandbox.kill(r.data.signal);
      return {};
    },
    'POST /exec': async (req) => {
      const r = ExecRequest.safeParse(await body(req));
      if (!r.success) throw new PassvolError('PV_ERR_INVALID_ARGUMENT', `exec: ${r.error.issues.map((i) => i.message).join('; ')}`);
      const { args, ...options } = r.data;
      return sandbox.exec(args, options);
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
    route(req).then(
      (v) => reply(res, 200, v),
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
  ready({ ok: true, vmPid: (await deps.dirs.read(id))?.vmPid ?? -1 });
  await deleted;
  await new Promise<void>((r) => server.close(() => r()));
  output.end();
}
