// One virtiofsd per virtio-fs share: the C daemon Debian ships inside qemu-system-common. It must listen
// before QEMU starts (QEMU connects to its socket as a client), and it exits when QEMU disconnects; stop()
// makes sure of that and removes what it leaves behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { access, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgument, PassvolError } from '../../common/errors.js';
import { signalAndWait } from './process-exit.js';

export const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';

export interface VirtiofsdOptions {
  socketPath: string;
  sourceDir: string;
  cache: 'auto' | 'always' | 'none';
  /** Tell the guest where the source has mounts of its own, so each is a mount there too (its own st_dev). */
  announceSubmounts?: boolean;
  logFile: string;
  binary?: string;
  startTimeoutMs?: number;
}

export function virtiofsdArgs(o: VirtiofsdOptions): string[] {
  // -o is a comma-separated FUSE option list: a comma in the folder would start a new option.
  if (/[,\\]/.test(o.sourceDir)) throw invalidArgument(`virtio-fs cannot share ${o.sourceDir}: the path has a comma or backslash`);
  return [`--socket-path=${o.socketPath}`, '-o', `source=${o.sourceDir}`, '-o', `cache=${o.cache}`, ...(o.announceSubmounts ? ['-o', 'announce_submounts'] : [])];
}

/** virtiofsd's lock file, /run/virtiofsd/<socket path with '/' as '.'>.pid, left behind when it is killed. */
export const virtiofsdLockFile = (socketPath: string): string => `/run/virtiofsd/${socketPath.replaceAll('/', '.')}.pid`;

export class Virtiofsd {
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly options: VirtiofsdOptions,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(o: VirtiofsdOptions): Promise<Virtiofsd> {
    const binary = o.binary ?? VIRTIOFSD;
    await access(binary).catch(() => {
      throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `${binary} is missing: install the Debian package qemu-system-common`);
    });
    await rm(o.socketPath, { force: true });
    const log = openSync(o.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(binary, virtiofsdArgs(o), { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    const daemon = new Virtiofsd(child, o);
    const deadline = Date.now() + (o.startTimeoutMs ?? 5000);
    let exitCode: number | null | undefined;
    child.once('exit', (code) => (exitCode = code));
    for (;;) {
      if (exitCode !== undefined) {
        const tail = (await readFile(o.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' / ');
        throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `virtiofsd for ${o.sourceDir} exited (${exitCode}) before listening: ${tail}`);
      }
      if (await access(o.socketPath).then(() => true, () => false)) return daemon;
      if (Date.now() > deadline) {
        await daemon.stop();
        throw new PassvolError('PV_ERR_TIMEOUT', `virtiofsd did not create ${o.socketPath} in time`);
      }
      await sleep(10);
    }
  }

  /** Waits briefly for it to leave on its own (QEMU gone), then signals it. Removes its socket. */
  async stop(graceMs = 1000): Promise<void> {
    await signalAndWait(this.child, this.exited, graceMs);
    await rm(this.options.socketPath, { force: true });
    await rm(virtiofsdLockFile(this.options.socketPath), { force: true });
  }
}
