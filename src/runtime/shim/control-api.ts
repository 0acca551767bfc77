// The control socket of a sandbox shim: what `passvol start|kill|exec|delete` ask the process that holds
// a sandbox created by `passvol create`. HTTP over a unix socket in the sandbox's folder, JSON bodies.
import { z } from 'zod';
import { MAIN_CONTAINER } from '../sandbox/sandbox.js';

export const CONTROL_SOCKET = 'control.sock';

export const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT'] as const;
export const SignalName = z.enum(SIGNALS);

/** A container of the sandbox other than its own (a pod's others): `passvol create ID --sandbox SB`. */
export const ContainerId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a container id is 1-63 characters of [A-Za-z0-9_.-]').refine((id) => id !== MAIN_CONTAINER, `"${MAIN_CONTAINER}" names the sandbox's own container`);
/** Which container a request is for; omitted: the sandbox's own. */
const Target = { container: ContainerId.optional() };

export const StartRequest = z.object(Target).strict();
export const KillRequest = z.object({ signal: SignalName, all: z.boolean().default(false), ...Target }).strict();
export const AddContainerRequest = z.object({ id: ContainerId, bundle: z.string().startsWith('/', 'the bundle must be an absolute path') }).strict();
export const RemoveContainerRequest = z.object({ id: ContainerId }).strict();
export const ContainersResponse = z.object({
  containers: z.array(z.object({ id: z.string(), bundle: z.string(), status: z.enum(['created', 'running', 'stopped']), pid: z.number().int().optional(), exitCode: z.number().int().optional(), createdAt: z.string() })),
});
const TerminalSize = z.object({ rows: z.number().int().min(1).max(10_000), cols: z.number().int().min(1).max(10_000) }).strict();
export const ExecRequest = z
  .object({
    args: z.array(z.string().min(1)).min(1).max(256),
    /** Working directory inside the container (default /). */
    cwd: z.string().startsWith('/', 'cwd must be an absolute path inside the container').optional(),
    /** NAME=value entries over the container's own environment. */
    env: z.array(z.string().regex(/^[^=\0]+=[^\0]*$/, 'env entries are NAME=value')).max(256).default([]),
    /** Who runs it (default: the container process's user). */
    user: z.object({ uid: z.number().int().min(0).max(4294967294), gid: z.number().int().min(0).max(4294967294) }).strict().optional(),
    /** Keep the process's stdin open for POST /stdin: the answer's first line is then an ExecStarted. */
    stdin: z.boolean().default(false),
    /** A terminal of this size (the answer's first line is then an ExecStarted, for POST /resize). */
    tty: TerminalSize.optional(),
    ...Target,
  })
  .strict();
/** A terminal's new size (the client's window changed). */
export const ResizeRequest = z.object({ execId: z.string().min(1).max(128), ...TerminalSize.shape, ...Target }).strict();
// POST /exec answers as NDJSON: an ExecChunk per piece of output as it comes, then an ExecEnd.
export const ExecStarted = z.object({ started: z.string() }).strict();
/** A piece of an exec's stdin (base64), or its end. */
export const StdinRequest = z.object({ execId: z.string().min(1).max(128), data: z.string().max(1 << 20).optional(), eof: z.boolean().default(false), ...Target }).strict();
export const ExecChunk = z.object({ stream: z.enum(['stdout', 'stderr']), data: z.string() }).strict();
export const ExecEnd = z.union([z.object({ exitCode: z.number().int() }).strict(), z.object({ error: z.object({ code: z.string(), message: z.string() }) }).strict()]);
export type ExecRequest = z.input<typeof ExecRequest>;
export const StartResponse = z.object({ pid: z.number().int() });
export const ErrorResponse = z.object({ code: z.string(), message: z.string() });

/** What the shim writes on its readiness pipe once the sandbox is created (or could not be). */
export const ShimReady = z.union([z.object({ ok: z.literal(true), vmPid: z.number().int() }), z.object({ ok: z.literal(false), code: z.string(), message: z.string() })]);
export type ShimReady = z.infer<typeof ShimReady>;
