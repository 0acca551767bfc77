// Running system commands (mount, losetup, mkfs, ...): arguments as an array (no shell), a timeout, and a
// typed error that carries the command's stderr.
import { execFile } from 'node:child_process';
import { PassvolError } from './errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Exit codes that are not failures (for example blkid's 2 for "nothing found"). */
  okCodes?: readonly number[];
  input?: string;
}

export interface Exec {
  run(cmd: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult & { code: number }>;
}

export class SystemExec implements Exec {
  run(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult & { code: number }> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        cmd,
        args,
        { timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          if (!error || (options.okCodes ?? []).includes(code)) {
            resolve({ stdout, stderr, code });
            return;
          }
          const why = error.killed ? `timed out after ${options.timeoutMs ?? 120_000} ms` : `exit ${error.code ?? error.signal}`;
          reject(
            new PassvolError('PV_ERR_EXTERNAL_COMMAND', `${cmd} ${args.join(' ')} failed (${why}): ${firstLines(stderr || stdout)}`, {
              cause: error,
            }),
          );
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  }
}

export const systemExec = new SystemExec();

/** The head of a tool's complaint: usage screens after the first lines only bury the reason. */
function firstLines(text: string, lines = 3): string {
  const all = text.trim().split('\n');
  return all.slice(0, lines).join(' / ') + (all.length > lines ? ' ...' : '');
}
