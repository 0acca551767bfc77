// Turns one framed line into one response. Nothing a peer sends can crash the agent: bad JSON, an unknown
// op, args that fail the schema and oversize lines all get an error response, with the request id when it
// can still be read (null otherwise). Results are checked against the op's result schema before sending.
import type { ZodError } from 'zod';
import {
  AgentError,
  MAX_LINE_BYTES,
  OP_NAMES,
  PROTOCOL_VERSION,
  REQUEST_TABLE,
  RequestEnvelope,
  isOpName,
  recoverRequestId,
  toAgentError,
  type Frame,
  type OpName,
  type ResponseEnvelope,
} from '../protocol/index.js';
import type { AgentContext } from './context.js';
import { HANDLERS } from './ops/index.js';
import type { Handler } from './ops/handler.js';

/** "args.target: must be an absolute path; args.options.0: Expected string" */
export function describeZodError(e: ZodError, prefix: string): string {
  return e.issues
    .slice(0, 5)
    .map((i) => `${[prefix, ...i.path].filter((p) => p !== '').join('.')}: ${i.message}`)
    .join('; ');
}

function failure(id: number | null, error: AgentError): ResponseEnvelope {
  return { v: PROTOCOL_VERSION, id, ok: false, error: { code: error.code, message: error.message } };
}

export type Dispatch = (frame: Frame) => Promise<ResponseEnvelope>;

export function createDispatcher(ctx: AgentContext): Dispatch {
  const run = async <O extends OpName>(op: O, id: number, rawArgs: unknown): Promise<ResponseEnvelope> => {
    const spec = REQUEST_TABLE[op];
    const parsed = spec.args.safeParse(rawArgs ?? {});
    if (!parsed.success) return failure(id, new AgentError('INVALID_ARGUMENT', `${op}: ${describeZodError(parsed.error, 'args')}`));
    const handler = HANDLERS[op] as Handler<O>;
    const result = await handler(parsed.data, ctx);
    const checked = spec.result.safeParse(result);
    if (!checked.success) return failure(id, new AgentError('INTERNAL', `${op} produced an invalid result: ${describeZodError(checked.error, 'result')}`));
    return { v: PROTOCOL_VERSION, id, ok: true, result: checked.data };
  };

  return async (frame) => {
    if (frame.kind === 'oversize') {
      return failure(
        recoverRequestId(frame.head),
        new AgentError('INVALID_ARGUMENT', `request line of ${frame.bytes} bytes exceeds the ${MAX_LINE_BYTES}-byte limit`),
      );
    }
    if (frame.text.trim() === '') return failure(null, new AgentError('INVALID_ARGUMENT', 'empty line'));
    let value: unknown;
    try {
      value = JSON.parse(frame.text);
    } catch (e) {
      return failure(recoverRequestId(frame.text), new AgentError('INVALID_ARGUMENT', `request is not JSON: ${(e as Error).message}`));
    }
    const id = recoverRequestId(value);
    if (typeof value === 'object' && value !== null && 'v' in value && value.v !== PROTOCOL_VERSION) {
      return failure(id, new AgentError('FAILED_PRECONDITION', `protocol version ${JSON.stringify(value.v)} is not spoken here; the agent speaks v${PROTOCOL_VERSION}`));
    }
    const envelope = RequestEnvelope.safeParse(value);
    if (!envelope.success) return failure(id, new AgentError('INVALID_ARGUMENT', `malformed request: ${describeZodError(envelope.error, '')}`));
    const { op } = envelope.data;
    if (!isOpName(op)) return failure(id, new AgentError('INVALID_ARGUMENT', `unknown op "${op}"; the agent knows ${OP_NAMES.join(', ')}`));
    const started = performance.now();
    let response: ResponseEnvelope;
    try {
      response = await run(op, envelope.data.id, envelope.data.args);
    } catch (e) {
      const err = toAgentError(e);
      if (err.code === 'INTERNAL') ctx.log.error({ err: e, op, id: envelope.data.id }, 'op failed unexpectedly');
      response = failure(envelope.data.id, err);
    }
    const ms = Math.round(performance.now() - started);
    const code = response.ok ? 'OK' : response.error.code;
    if (response.ok || op === 'wait') ctx.log.debug({ op, id: envelope.data.id, ms, code }, 'request');
    else ctx.log.warn({ op, id: envelope.data.id, ms, code, message: response.error.message }, 'request failed');
    return response;
  };
}
