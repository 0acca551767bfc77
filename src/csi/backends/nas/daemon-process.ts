// Small facts about the daemons the embedded NFS server runs (rpcbind, ganesha.nfsd): is a pid alive and
// still the program we think, does a port accept connections, and stopping one politely then firmly.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { connect } from 'node:net';
import { errnoCode } from '../../../common/errors.js';

/** The argv of a live process, or undefined when it is gone (zombies count as gone). */
export async function argvOf(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself hold spaces or parentheses.
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, all) => s !== '' || i < all.length - 1);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ESRCH') return undefined;
    throw e;
  }
}

/** True when `pid` is alive and runs `program` (by base name), with every one of `args` on its command line. */
export async function isProgram(pid: number, program: string, args: readonly string[] = []): Promise<boolean> {
  const argv = await argvOf(pid);
  if (!argv || basename(argv[0] ?? '') !== program) return false;
  return args.every((a) => argv.includes(a));
}

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Whether something accepts TCP connections on host:port (within timeoutMs). */
export function acceptsTcp(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await argvOf(pid)) === undefined) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if (errnoCode(e) !== 'ESRCH') throw e;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves with how it ended. */
export async function terminate(pid: number, graceMs: number): Promise<'exited' | 'killed'> {
  signal(pid, 'SIGTERM');
  if (await waitGone(pid, graceMs)) return 'exited';
  signal(pid, 'SIGKILL');
  await waitGone(pid, 5_000);
  return 'killed';
}

/** The last `lines` lines of a file from byte `offset` on ('' when missing). */
export async function tailOf(path: string, lines: number, offset = 0): Promise<string> {
  try {
    const buf = await readFile(path);
    return buf.subarray(offset).toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return '';
    throw e;
  }
}
