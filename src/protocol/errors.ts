// The agent protocol's own error codes. The protocol is a leaf (it imports only zod), so it cannot use
// src/common/errors.ts; the runtime maps these codes onto its PassvolError codes at its edge.
import { z } from 'zod';

export const AgentErrorCode = z.enum([
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'FAILED_PRECONDITION',
  'ALREADY_EXISTS',
  'INTERNAL',
  'UNAVAILABLE',
  'PERMISSION_DENIED',
]);
export type AgentErrorCode = z.infer<typeof AgentErrorCode>;

const BRAND = Symbol.for('passvol.agent-error');

/** An error that crosses the wire as `{code, message}`. Messages say what the caller should change. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly [BRAND] = true;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}

export function isAgentError(e: unknown): e is AgentError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** Keeps typed errors as they are and wraps anything else as INTERNAL. */
export function toAgentError(e: unknown): AgentError {
  if (isAgentError(e)) return e;
  return new AgentError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}
