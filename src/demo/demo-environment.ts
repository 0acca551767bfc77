// The demo's node: a scratch folder laid out like a Kubernetes node, the embedded NFS server, and the
// two CSI drivers (disk and NAS) as their own processes, reached over their unix sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedNfsServer, type EmbeddedNfsServerInfo } from '../csi/backends/nas/embedded-nfs-server.js';
import { csiClient, type CsiClient } from '../csi/csi-client.js';
import { CleanupStack, errorMessage, describeFailures } from './cleanup-stack.js';

export interface DemoNode {
  work: string;
  kubelet: string;
  directVolumes: string;
  goShims: string;
  nfs: EmbeddedNfsServerInfo;
  disk: CsiClient;
  nas: CsiClient;
  /** Stops both drivers and the NFS server: every one of them, even when stopping another fails. */
  stop(): Promise<void>;
}

interface Running<T> {
  value: T;
  stop(): Promise<void>;
}

/** How the node's parts start (replaced in tests). */
export interface DemoNodeParts {
  startNfs(work: string): Promise<Running<EmbeddedNfsServerInfo>>;
  startDriver(kind: 'disk' | 'nas', work: string, extra: string[]): Promise<Running<CsiClient>>;
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function startDriver(kind: 'disk' | 'nas', work: string, extra: string[]): Promise<Running<CsiClient>> {
  const socket = join(work, `${kind}.sock`);
  // A socket left by an earlier run in the same --work-dir would look like this driver being up.
  rmSync(socket, { force: true });
  const args = [...process.execArgv, process.argv[1] as string, 'csi', 'serve', '--driver', kind, '--endpoint', `unix://${socket}`, '--node-id', 'demo-node',
    '--kubelet-root', join(work, 'kubelet'), '--direct-volume-root', join(work, 'direct-volumes'), '--disk-pool-dir', join(work, 'pool'),
    '--go-shim-root', join(work, 'vc-sbs'), '--no-kubernetes', '--log-level', 'warn', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const spawned: { error?: Error } = {};
  child.once('error', (e) => (spawned.error = e));
  for (let i = 0; i < 300 && !existsSync(socket) && running(child) && !spawned.error; i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(socket)) {
    const why = spawned.error ? errorMessage(spawned.error) : running(child) ? 'no socket after 15 s' : `it exited (${child.exitCode ?? child.signalCode})`;
    if (!spawned.error) await stopChild(child);
    throw new Error(`the ${kind} CSI driver did not start: ${why}`);
  }
  const client = csiClient(socket);
  return {
    value: client,
    async stop() {
      client.close();
      await stopChild(child);
    },
  };
}

async function startNfs(work: string): Promise<Running<EmbeddedNfsServerInfo>> {
  const server = new EmbeddedNfsServer({ exportDir: join(work, 'nas-export'), stateDir: join(work, 'nfs-state'), forgetClients: true });
  const info = await server.start();
  return { value: info, stop: () => server.stop() };
}

const REAL_PARTS: DemoNodeParts = { startNfs, startDriver };

/** Starts the node; if a part fails to start, the parts already started are stopped before the error is thrown. */
export async function startDemoNode(work: string, parts: DemoNodeParts = REAL_PARTS): Promise<DemoNode> {
  const started = new CleanupStack();
  try {
    for (const d of ['kubelet', 'nas-export', 'direct-volumes']) mkdirSync(join(work, d), { recursive: true });
    const nfs = await parts.startNfs(work);
    started.push('stop the NFS server', () => nfs.stop());
    const disk = await parts.startDriver('disk', work, []);
    started.push('stop the disk CSI driver', () => disk.stop());
    const nas = await parts.startDriver('nas', work, ['--nas-local-path', nfs.value.localPathMapping]);
    started.push('stop the NAS CSI driver', () => nas.stop());
    return {
      work,
      kubelet: join(work, 'kubelet'),
      directVolumes: join(work, 'direct-volumes'),
      goShims: join(work, 'vc-sbs'),
      nfs: nfs.value,
      disk: disk.value,
      nas: nas.value,
      stop: () => started.runOrThrow(),
    };
  } catch (e) {
    const failures = await started.run();
    if (failures.length === 0) throw e;
    throw new AggregateError([e, ...failures.map((f) => f.error)], `${errorMessage(e)}; then, stopping what had started: ${describeFailures(failures)}`);
  }
}
