// Runs system commands (mount, umount, resize2fs, xfs_growfs, sync): arguments as an array, never a shell,
// with a timeout; a failure becomes an AgentError carrying the head of the command's stderr.
import { execFile } from 'node:child_process';
import { AgentError, type AgentErrorCode } from '../protocol/index.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  timeoutMs?: number;
  /** The error code used when the command fails (default INTERNAL). */
  failureCode?: AgentErrorCode;
}

export type RunCommand = (cmd: string, args: readonly string[], options?: CommandOptions) => Promise<CommandResult>;

export const runCommand: RunCommand = (cmd, args, options = {}) =>
  new Promise((resolve, reject) => {
    const timeout = options.timeoutMs ?? 120_000;
    execFile(cmd, args, { timeout, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ stdout, stderr });
        return;
      }
      if (error.code === 'ENOENT') {
        reject(new AgentError('FAILED_PRECONDITION', `${cmd} is not installed in the guest (needed for: ${cmd} ${args.join(' ')})`, { cause: error }));
        return;
      }
      const why = error.killed ? `timed out after ${timeout} ms` : `exit ${error.code ?? error.signal}`;
      const said = (stderr || stdout).trim().split('\n').slice(0, 3).join(' / ');
      reject(new AgentError(options.failureCode ?? 'INTERNAL', `${cmd} ${args.join(' ')} failed (${why}): ${said}`, { cause: error }));
    });
  });
