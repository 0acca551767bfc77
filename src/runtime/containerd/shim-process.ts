// The shim binary's three lives, as containerd 1.6 runs `containerd-shim-passvol-v2 [flags] ACTION`:
// - `start` (working directory: the task's bundle) finds or starts the pod's shim and prints its address;
//   containerd reads all it prints as the address, so nothing else may go to stdout or stderr;
// - the shim itself (`serve`, started by `start`), which serves ttrpc until containerd shuts it down;
// - `delete`, run when a shim died or did not answer, which cleans up after it and prints a DeleteResponse.
import { createHash } from 'node:crypto';
import { constants, openSync, readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PassvolError } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import type { Logger } from '../../common/logger.js';
import { signalAndWait } from '../../common/processes.js';
import { spawnWithReadyPipe } from '../../common/ready-pipe.js';
import { socketAnswers } from '../../common/socket-probe.js';
import type { RecordStore } from '../../directvolume/index.js';
import { cleanupOrphans } from '../sandbox/orphan-cleanup.js';
import { runtimeAlive, type SandboxDirs } from '../sandbox/sandbox-dir.js';
import type { SandboxDeps } from '../sandbox/sandbox.js';
import { eventPublisher } from './events.js';
import { codec, protoType, toTimestamp } from './messages.js';
import { unmountRootfs } from './rootfs.js';
import { CONFIG_PATH_FILE, CRI_SANDBOX_ID, sandboxIdOf, TaskService, TASK_SERVICE } from './task-service.js';
import { TtrpcServer } from './ttrpc.js';

/** How long `delete` waits for a shim it kills to be gone. */
const RUNTIME_KILL_MS = 5_000;
/** Where containerd 1.6's shims put their sockets. */
export const SHIM_SOCKET_DIR = '/run/containerd/s';
/** runc's grouping annotation, then CRI's sandbox id: every task of a pod reaches one shim. */
const GROUP_ANNOTATIONS = ['io.containerd.runc.v2.group', CRI_SANDBOX_ID];
/** A unix socket path's limit (sun_path) less its NUL, as Go's shim library checks it. */
const MAX_SOCKET_PATH = 106;

export const ShimFlags = z.object({
  namespace: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a containerd namespace'),
  address: z.string().min(1),
  publishBinary: z.string().default(''),
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/, 'a task id of 1-128 characters of [A-Za-z0-9_.+-]'),
  bundle: z.string().optional(),
  socket: z.string().optional(),
  debug: z.boolean().default(false),
});
export type ShimFlags = z.infer<typeof ShimFlags>;

/** The pod's group: what every task of one pod shares, so that they hash to one socket. */
export async function groupOf(bundleDir: string, id: string): Promise<string> {
  let annotations: Record<string, string> = {};
  try {
    const spec = z.object({ annotations: z.record(z.string()).default({}) }).passthrough().parse(JSON.parse(await readFile(join(bundleDir, 'config.json'), 'utf8')));
    annotations = spec.annotations;
  } catch (e) {
    throw new PassvolError('PV_ERR_INVALID_ARGUMENT', `${bundleDir}/config.json: ${(e as Error).message}`);
  }
  return GROUP_ANNOTATIONS.map((k) => annotations[k]).find((v) => v) ?? id;
}

/** containerd's own naming: sha256 of address/namespace/group, under SHIM_SOCKET_DIR. */
export function shimSocketPath(address: string, namespace: string, group: string, dir = SHIM_SOCKET_DIR): string {
  const path = join(dir, createHash('sha256').update(join(address, namespace, group)).digest('hex'));
  if (path.length > MAX_SOCKET_PATH) throw new PassvolError('PV_ERR_INVALID_ARGUMENT', `shim socket path ${path} is longer than ${MAX_SOCKET_PATH} characters`);
  return path;
}

/**
 * containerd's log FIFO in the bundle, opened read-write as containerd itself opens it: the shim's writes
 * never fail for want of a reader while containerd restarts. Undefined when there is none.
 */
export function openLogFifo(bundleDir: string): number | undefined {
  try {
    return openSync(join(bundleDir, 'log'), constants.O_RDWR | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

/** The task's `address` file, which containerd reads to reconnect after a restart; written whole or not at all. */
async function writeAddressFile(bundleDir: string, address: string): Promise<void> {
  const tmp = join(bundleDir, `.address.${process.pid}`);
  await writeFile(tmp, address, { mode: 0o600 });
  await rename(tmp, join(bundleDir, 'address'));
}

/**
 * `start`: prints the address of the pod's shim, starting one when none listens yet. The shim is spawned
 * detached, with containerd's log FIFO as its stdout and stderr (never this process's, which containerd
 * reads to the end), and says on a pipe when it listens: containerd dials the address once, at once.
 */
export async function startShim(o: { flags: ShimFlags; bundleDir: string; argv: readonly string[]; socketDir?: string }): Promise<string> {
  const group = await groupOf(o.bundleDir, o.flags.id);
  const socket = shimSocketPath(o.flags.address, o.flags.namespace, group, o.socketDir);
  const address = `unix://${socket}`;
  if (await socketAnswers(socket)) {
    await writeAddressFile(o.bundleDir, address);
    return address;
  }
  await rm(socket, { force: true });
  const log = openLogFifo(o.bundleDir) ?? openSync('/dev/null', 'w');
  const line = await spawnWithReadyPipe([...o.argv, '-socket', socket, 'serve'], { logFd: log, cwd: o.bundleDir });
  const ready = line === undefined ? undefined : z.object({ ok: z.boolean(), message: z.string().optional() }).safeParse(JSON.parse(line));
  if (!ready?.success || !ready.data.ok) throw new PassvolError('PV_ERR_INTERNAL', `the shim did not start: ${ready?.success ? ready.data.message : 'it ended without a word'} (see the task's log)`);
  await writeAddressFile(o.bundleDir, address);
  return address;
}

/**
 * The shim itself: serves the task service on `socket` until containerd's Shutdown finds no task left
 * (resolves then), or a SIGTERM tears every sandbox down. `ready` is told once it listens, or why not.
 */
export async function serveShim(o: {
  flags: ShimFlags;
  socket: string;
  ttrpcAddress: string | undefined;
  sandboxDeps: (configPath: string | undefined) => Promise<SandboxDeps>;
  exec: Exec;
  log: Logger;
  version: string;
  ready: (r: { ok: boolean; message?: string }) => void;
}): Promise<void> {
  let idle: () => void = () => undefined;
  const finished = new Promise<void>((r) => (idle = r));
  const publish = eventPublisher({ ttrpcAddress: o.ttrpcAddress, namespace: o.flags.namespace, log: o.log });
  const tasks = new TaskService({ namespace: o.flags.namespace, sandboxDeps: o.sandboxDeps, exec: o.exec, log: o.log, publish, onIdle: () => idle(), version: o.version });
  const server = new TtrpcServer(tasks.handlers(), { onError: (method, e) => o.log.error({ method, err: e.message, stack: e.stack }, 'task call failed') });
  try {
    await server.listen(o.socket);
  } catch (e) {
    o.ready({ ok: false, message: `${o.socket}: ${(e as Error).message}` });
    return;
  }
  const stop = async (why: string) => {
    o.log.warn(`${why}: tearing down every sandbox this shim holds`);
    await tasks.destroyAll();
    idle();
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  o.ready({ ok: true });
  o.log.info({ socket: o.socket, service: TASK_SERVICE }, 'shim serving');
  await finished;
  await server.close(o.socket);
  // Nothing should be left when containerd shuts the shim down; should a sandbox be, it does not outlive it.
  await tasks.destroyAll();
  await publish.drained();
}

const DeleteResponse = codec<{ pid: number; exit_status: number; exited_at: { seconds: number; nanos: number } }>(protoType('DeleteResponse'));

/** The settings file a sandbox task's runtime options named (recorded in its bundle at Create), if any. */
export function recordedConfigPath(bundleDir: string): string | undefined {
  try {
    return readFileSync(join(bundleDir, CONFIG_PATH_FILE), 'utf8') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `delete`: containerd found the task's shim dead (or deaf). What it left of the task goes: a sandbox of
 * that id (its VM, sockets, bindings; the shim's process first, should it hang on), the rootfs mount. The
 * answer is a DeleteResponse for a process killed, as runc's and Kata's say.
 */
export async function deleteAfterShim(o: { id: string; bundleDir: string; flags: ShimFlags; dirs: SandboxDirs; records: RecordStore; exec: Exec; log: Logger; socketDir?: string }): Promise<Buffer> {
  const state = await o.dirs.read(sandboxIdOf(o.id)).catch(() => undefined);
  if (state) {
    // A shim that hangs on (deaf, not dead) goes first: cleanup takes only sandboxes whose runtime is gone.
    if (runtimeAlive(state)) await signalAndWait(state.runtimePid, 'SIGKILL', RUNTIME_KILL_MS);
    const report = await cleanupOrphans(o.dirs, o.records, o.log, { only: state.id });
    if (!report.some((r) => r.sandbox === state.id)) o.log.warn({ sandbox: o.id }, 'the sandbox VM did not exit; `passvol gc` retries');
  }
  await unmountRootfs(o.exec, join(o.bundleDir, 'rootfs')).catch((e: Error) => o.log.warn({ err: e.message }, 'rootfs left mounted'));
  // The dead shim's socket, unless a shim (of the pod's other tasks) still answers on it.
  const socket = await groupOf(o.bundleDir, o.id).then((g) => shimSocketPath(o.flags.address, o.flags.namespace, g, o.socketDir), () => undefined);
  if (socket && !(await socketAnswers(socket))) await rm(socket, { force: true });
  return DeleteResponse.encode({ pid: 0, exit_status: 137, exited_at: toTimestamp(new Date()) });
}
