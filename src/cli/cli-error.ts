// The CLI's edge: one clear line on stderr and the exit code from the error table.
import { toPassvolError } from '../common/errors.js';

export function reportAndExit(e: unknown): never {
  const err = toPassvolError(e);
  process.stderr.write(`passvol: ${err.message}\n`);
  process.exit(err.exitCode);
}
