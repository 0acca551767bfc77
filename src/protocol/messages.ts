// The wire messages between the runtime and the guest agent (one JSON object per line, see codec.ts):
//   request  {v:2, id, op, args}                 runtime -> agent
//   response {v:2, id, ok:true, result}          agent -> runtime
//            {v:2, id, ok:false, error:{code, message}}   (id is null only when the request's id was unreadable)
//   event    {v:2, event:'stdout'|'stderr'|'exit'|'log', ...}   agent -> runtime, unsolicited
// The per-op args and result schemas are in *-ops.ts and are listed by name in request-table.ts.
import { z } from 'zod';
import { AgentErrorCode } from './errors.js';
import { Base64, ObjectId, PROTOCOL_VERSION } from './primitives.js';

export * from './primitives.js';
export * from './mount-ops.js';
export * from './container-ops.js';
export * from './system-ops.js';
export * from './pod-network-ops.js';

export const RequestId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const RequestEnvelope = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    id: RequestId,
    op: z.string().min(1).max(64),
    /** Validated against the op's schema by the receiver; omitted means {}. */
    args: z.unknown().optional(),
  })
  .strict();
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

export const ErrorBody = z.object({ code: AgentErrorCode, message: z.string() });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const OkResponse = z.object({ v: z.literal(PROTOCOL_VERSION), id: RequestId, ok: z.literal(true), result: z.unknown() });
export const ErrorResponse = z.object({ v: z.literal(PROTOCOL_VERSION), id: RequestId.nullable(), ok: z.literal(false), error: ErrorBody });
export const ResponseEnvelope = z.discriminatedUnion('ok', [OkResponse, ErrorResponse]);
export type OkResponse = z.infer<typeof OkResponse>;
export type ErrorResponse = z.infer<typeof ErrorResponse>;
export type ResponseEnvelope = z.infer<typeof ResponseEnvelope>;

const EventBase = { v: z.literal(PROTOCOL_VERSION) };
const ProcessRef = { containerId: ObjectId, execId: ObjectId };

export const OutputEvent = z.object({ ...EventBase, event: z.enum(['stdout', 'stderr']), ...ProcessRef, data: Base64 });
export const ExitEvent = z.object({
  ...EventBase,
  event: z.literal('exit'),
  ...ProcessRef,
  exitCode: z.number().int().min(0).max(255),
  signal: z.string().optional(),
});
export const LogEvent = z.object({
  ...EventBase,
  event: z.literal('log'),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  msg: z.string(),
  /** Context such as containerId or target; never secrets. */
  fields: z.record(z.string(), z.unknown()).optional(),
});
/** Sent once by each agent process as it starts serving: a second one means the agent was restarted. */
export const ReadyEvent = z.object({ ...EventBase, event: z.literal('ready'), pid: z.number().int().positive() });
// Not a discriminatedUnion: 'stdout' and 'stderr' share one schema.
export const AgentEvent = z.union([OutputEvent, ExitEvent, LogEvent, ReadyEvent]);
export type OutputEvent = z.infer<typeof OutputEvent>;
export type ExitEvent = z.infer<typeof ExitEvent>;
export type LogEvent = z.infer<typeof LogEvent>;
export type ReadyEvent = z.infer<typeof ReadyEvent>;
export type AgentEvent = z.infer<typeof AgentEvent>;

export type AgentMessage = { kind: 'response'; response: ResponseEnvelope } | { kind: 'event'; event: AgentEvent };

/** Parses one line from the agent (for clients). Throws a ZodError or SyntaxError on a malformed line. */
export function decodeAgentMessage(line: string): AgentMessage {
  const value: unknown = JSON.parse(line);
  if (typeof value === 'object' && value !== null && 'event' in value) return { kind: 'event', event: AgentEvent.parse(value) };
  return { kind: 'response', response: ResponseEnvelope.parse(value) };
}

/**
 * The request id of a line that could not be parsed as a whole, when it can still be read: a JSON object
 * with a valid numeric `id`, or (for a line too long to keep) an `id` among the first two keys of its head.
 */
export function recoverRequestId(value: unknown): number | null {
  if (typeof value === 'string') {
    const m = /^\s*\{\s*(?:"v"\s*:\s*[^,{}[\]]*,\s*)?"id"\s*:\s*(\d{1,16})\s*[,}]/.exec(value);
    if (!m?.[1]) return null;
    const id = Number(m[1]);
    return RequestId.safeParse(id).success ? id : null;
  }
  if (typeof value !== 'object' || value === null || !('id' in value)) return null;
  const parsed = RequestId.safeParse(value.id);
  return parsed.success ? parsed.data : null;
}
