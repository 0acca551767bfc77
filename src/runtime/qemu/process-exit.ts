// Ending a child process we started: give it `graceMs` to exit on its own, then SIGTERM, then SIGKILL.
// Only ever our own child, by its handle: never a search by name.
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

export async function signalAndWait(child: ChildProcess, exited: Promise<unknown>, graceMs: number, termMs = 3000): Promise<void> {
  const within = async (ms: number): Promise<boolean> => {
    if (hasExited(child)) return true;
    // The timer is cancelled once the child exits: left running, it kept a finished `passvol run` (or a
    // shim) alive for the whole grace period.
    const timer = new AbortController();
    try {
      return await Promise.race([exited.then(() => true), sleep(ms, undefined, { signal: timer.signal }).then(() => hasExited(child))]);
    } finally {
      timer.abort();
    }
  };
  if (await within(graceMs)) return;
  child.kill('SIGTERM');
  if (await within(termMs)) return;
  child.kill('SIGKILL');
  await exited;
}
