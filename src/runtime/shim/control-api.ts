// The control socket of a sandbox shim: what `passvol start|kill|exec|delete` ask the process that holds
// a sandbox created by `passvol create`. HTTP over a unix socket in the sandbox's folder, JSON bodies.
import { z } from 'zod';

export const CONTROL_SOCKET = 'control.sock';

export const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT'] as const;
export const SignalName = z.enum(SIGNALS);

export const KillRequest = z.object({ signal: SignalName }).strict();
export const ExecRequest = z
  .object({
    args: z.array(z.string().min(1)).min(1).max(256),
    /** Working directory inside the container (default /). */
    cwd: z.string().startsWith('/', 'cwd must be an absolute path inside the container').optional(),
    /** NAME=value entries over the container's own environment. */
    env: z.array(z.string().regex(/^[^=\0]+=[^\0]*$/, 'env entries are NAME=value')).max(256).default([]),
    /** Who runs it (default: the container process's user). */
    user: z.object({ uid: z.number().int().min(0).max(4294967294), gid: z.number().int().min(0).max(4294967294) }).strict().optional(),
  })
  .strict();
export type ExecRequest = z.input<typeof ExecRequest>;
export const ExecResponse = z.object({ exitCode: z.number().int(), stdout: z.string(), stderr: z.string() });
export const StartResponse = z.object({ pid: z.number().int() });
export const ErrorResponse = z.object({ code: z.string(), message: z.string() });

/** What the shim writes on its readiness pipe once the sandbox is created (or could not be). */
export const ShimReady = z.union([z.object({ ok: z.literal(true), vmPid: z.number().int() }), z.object({ ok: z.literal(false), code: z.string(), message: z.string() })]);
export type ShimReady = z.infer<typeof ShimReady>;
