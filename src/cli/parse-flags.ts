// Commander's flags checked with zod: a bad value is refused naming the flag as it is typed (--pseudo-path,
// not pseudoPath), with what to change.
import type { z, ZodError } from 'zod';
import { invalidArgument, type PassvolError } from '../common/errors.js';

export function flagError(e: ZodError): PassvolError {
  const flag = (path: (string | number)[]) => `--${path.join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return invalidArgument(e.issues.map((i) => `${flag(i.path)}: ${i.message}`).join('; '));
}

export function parseFlags<T extends z.ZodTypeAny>(schema: T, raw: unknown): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw flagError(parsed.error);
  return parsed.data;
}
