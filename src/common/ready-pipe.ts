// Starting a long-lived helper (a shim) that outlives its starter: it runs detached, its output goes to a
// log the starter names (never the starter's own stdout, which a caller may read to its end), and it says
// on fd 3 whether it started, one line, then closes that pipe.
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** The helper's end of the pipe. */
export const READY_FD = 3;

/**
 * Spawns `args` (a Node script and its arguments) detached; resolves with its first line on fd 3, or undefined
 * if it closed that pipe unsaid. `logFd` is handed over: it is closed here once the child has it.
 */
export async function spawnWithReadyPipe(args: readonly string[], o: { logFd: number; cwd?: string }): Promise<string | undefined> {
  const child = spawn(process.execPath, [...process.execArgv, ...args], { detached: true, stdio: ['ignore', o.logFd, o.logFd, 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}) });
  closeSync(o.logFd);
  const pipe = child.stdio[READY_FD] as NodeJS.ReadableStream & { destroy(): void };
  const line = await new Promise<string | undefined>((resolve) => {
    const rl = createInterface({ input: pipe });
    rl.once('line', resolve);
    rl.once('close', () => resolve(undefined));
  });
  child.unref();
  pipe.destroy();
  return line;
}
