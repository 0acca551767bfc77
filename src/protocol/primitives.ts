// Small value schemas shared by the op schemas. Shapes only: the agent's policy (which paths, which
// options) lives in src/agent/, so a client learns about shape errors before sending.
import { z } from 'zod';

export const PROTOCOL_VERSION = 3 as const;

/** An absolute path. The agent further insists on normalised paths under /run/passvol/. */
export const AbsolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => s.startsWith('/'), 'must be an absolute path')
  .refine((s) => !/[\0\n]/.test(s), 'must not contain NUL or newline');

/** Container and exec ids, as containerd allows them. */
export const ObjectId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit');

export const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** An environment entry in OCI form: NAME=value. */
export const EnvEntry = z.string().regex(/^[^=\0]+=[^\0]*$/, 'must be NAME=value without NUL');

/** A 32-bit uid/gid (4294967295 is "no id" to the kernel, so it is refused). */
export const PosixId = z.number().int().min(0).max(4294967294);

export const Signal = z.union([
  z.number().int().min(1).max(64),
  z.string().regex(/^SIG[A-Z0-9]+$/, 'must be a signal name such as SIGTERM'),
]);

/** Non-negative integer counts (bytes, inodes), exact up to 2^53. */
export const Count = z.number().int().nonnegative();

export const Usage = z.object({ total: Count, used: Count, available: Count });
export type Usage = z.infer<typeof Usage>;
