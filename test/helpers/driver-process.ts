// Starts `passvol csi serve` as its own process (so tests can kill -9 it), in a scratch root laid out like
// a node: kubelet dir, direct-volume root, disk pool, shim roots.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './run-cli.js';

export interface DriverLayout {
  root: string;
  kubelet: string;
  directVolumes: string;
  pool: string;
  goShims: string;
  rsShims: string;
  socket: string;
}

export function layout(root: string): DriverLayout {
  const l = {
    root,
    kubelet: join(root, 'kubelet'),
    directVolumes: join(root, 'direct-volumes'),
    pool: join(root, 'pool'),
    goShims: join(root, 'vc-sbs'),
    rsShims: join(root, 'kata'),
    socket: join(root, 'csi.sock'),
  };
  mkdirSync(l.kubelet, { recursive: true });
  return l;
}

export interface DriverProcess {
  child: ChildProcess;
  logs(): string;
  /** The logs once a line matches `re`: the driver writes a call's line after it answered, over a pipe. */
  logsOnce(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startDriverProcess(l: DriverLayout, extra: string[] = [], driver = 'disk'): Promise<DriverProcess> {
  const args = [
    '--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'csi', 'serve',
    '--driver', driver, '--endpoint', `unix://${l.socket}`, '--node-id', 'node-1',
    '--kubelet-root', l.kubelet, '--direct-volume-root', l.directVolumes, '--disk-pool-dir', l.pool,
    '--go-shim-root', l.goShims, '--rs-shim-root', l.rsShims, ...extra,
  ];
  if (!extra.includes('--kubeconfig')) args.push('--no-kubernetes');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200 && !/"msg":"serving"/.test(out); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(l.socket) || !/"msg":"serving"/.test(out)) {
    child.kill('SIGKILL');
    throw new Error(`driver did not start:\n${out}`);
  }
  return {
    child,
    logs: () => out,
    logsOnce: async (re, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return out;
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}
