// A CSI driver process started for a benchmark, in a scratch node layout, with its RSS sampled.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DRIVER_NODE_OPTIONS } from '../csi/driver-node-options.js';

export interface DriverUnderTest {
  root: string;
  kubelet: string;
  socket: string;
  child: ChildProcess;
  rssKiB(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Runs `passvol csi serve` with the same entry point as this process (tsx source or built dist), and the Node
 * flags deploy/ gives it (plus $PASSVOL_BENCH_DRIVER_FLAGS, e.g. --cpu-prof, when profiling the driver).
 */
export async function startBenchDriver(root: string, extra: string[] = []): Promise<DriverUnderTest> {
  const kubelet = join(root, 'kubelet');
  mkdirSync(kubelet, { recursive: true });
  // Records live under /run in production (Kata's root), a tmpfs: mount one so fsync costs what it costs there.
  const records = join(root, 'direct-volumes');
  mkdirSync(records, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'passvol-bench', records]);
  const socket = join(root, 'csi.sock');
  const profiling = process.env.PASSVOL_BENCH_DRIVER_FLAGS?.split(' ').filter(Boolean) ?? [];
  const args = [...process.execArgv, ...profiling, process.argv[1] as string, 'csi', 'serve', '--driver', 'disk', '--endpoint', `unix://${socket}`, '--node-id', 'bench-node',
    '--kubelet-root', kubelet, '--direct-volume-root', records, '--disk-pool-dir', join(root, 'pool'), '--no-kubernetes', '--log-level', 'warn', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODE_OPTIONS: DRIVER_NODE_OPTIONS } });
  for (let i = 0; i < 300 && !existsSync(socket) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(socket)) {
    child.kill('SIGKILL');
    throw new Error('benchmark driver did not start');
  }
  return {
    root,
    kubelet,
    socket,
    child,
    rssKiB: async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
