// Typed errors with stable codes. Inner code throws PassvolError; only the edges (gRPC server, monitor
// socket, CLI) translate a code into a gRPC status, an HTTP status or an exit code, using ERROR_TABLE.

/** gRPC status codes we use (numeric values are the gRPC wire values). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

interface ErrorMapping {
  readonly grpc: GrpcCode;
  readonly http: number;
  readonly exit: number;
  readonly summary: string;
}

/** The one table of error codes. docs/errors.md must describe every code (a test checks). */
export const ERROR_TABLE = {
  PV_ERR_INVALID_ARGUMENT: { grpc: GrpcCode.INVALID_ARGUMENT, http: 400, exit: 2, summary: 'a request or flag is malformed' },
  PV_ERR_NOT_FOUND: { grpc: GrpcCode.NOT_FOUND, http: 404, exit: 3, summary: 'the named volume, record, snapshot or sandbox does not exist' },
  PV_ERR_ALREADY_EXISTS: { grpc: GrpcCode.ALREADY_EXISTS, http: 409, exit: 4, summary: 'an object with that name exists with different properties' },
  PV_ERR_FAILED_PRECONDITION: { grpc: GrpcCode.FAILED_PRECONDITION, http: 412, exit: 5, summary: 'the system is not in a state that allows the operation' },
  PV_ERR_UNEXPECTED_CONTENT: { grpc: GrpcCode.FAILED_PRECONDITION, http: 409, exit: 5, summary: 'a record directory holds files passvol did not write' },
  PV_ERR_VOLUME_BUSY: { grpc: GrpcCode.ABORTED, http: 409, exit: 6, summary: 'another operation on the same volume is in flight' },
  PV_ERR_ABORTED: { grpc: GrpcCode.ABORTED, http: 409, exit: 6, summary: 'the operation was cut short and left nothing behind; retry it' },
  PV_ERR_CORRUPT_RECORD: { grpc: GrpcCode.DATA_LOSS, http: 500, exit: 7, summary: 'a record on disk cannot be parsed' },
  PV_ERR_SANDBOX_UNREACHABLE: { grpc: GrpcCode.UNAVAILABLE, http: 503, exit: 8, summary: 'no sandbox monitor or control socket answered' },
  PV_ERR_UNAVAILABLE: { grpc: GrpcCode.UNAVAILABLE, http: 503, exit: 8, summary: 'a service passvol depends on (the API server) did not answer; retry' },
  PV_ERR_TIMEOUT: { grpc: GrpcCode.DEADLINE_EXCEEDED, http: 504, exit: 8, summary: 'a peer did not answer in time' },
  PV_ERR_OUT_OF_RANGE: { grpc: GrpcCode.OUT_OF_RANGE, http: 416, exit: 2, summary: 'a size or limit is outside what the backend allows' },
  PV_ERR_RESOURCE_EXHAUSTED: { grpc: GrpcCode.RESOURCE_EXHAUSTED, http: 507, exit: 9, summary: 'no capacity or attachment slot is left' },
  PV_ERR_UNIMPLEMENTED: { grpc: GrpcCode.UNIMPLEMENTED, http: 501, exit: 10, summary: 'the backend does not support the operation' },
  PV_ERR_EXTERNAL_COMMAND: { grpc: GrpcCode.INTERNAL, http: 500, exit: 11, summary: 'a system command (mount, mkfs, losetup, ...) failed' },
  PV_ERR_INTERNAL: { grpc: GrpcCode.INTERNAL, http: 500, exit: 1, summary: 'an unexpected failure; the message has the detail' },
} as const satisfies Record<string, ErrorMapping>;

export type ErrorCode = keyof typeof ERROR_TABLE;

const BRAND = Symbol.for('passvol.error');

export class PassvolError extends Error {
  readonly code: ErrorCode;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PassvolError';
    this.code = code;
  }

  get grpcCode(): GrpcCode {
    return ERROR_TABLE[this.code].grpc;
  }
  get httpStatus(): number {
    return ERROR_TABLE[this.code].http;
  }
  get exitCode(): number {
    return ERROR_TABLE[this.code].exit;
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_TABLE, code);
}

export function isPassvolError(e: unknown): e is PassvolError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** Wraps anything thrown into a PassvolError, keeping typed ones as they are. */
export function toPassvolError(e: unknown): PassvolError {
  if (isPassvolError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new PassvolError('PV_ERR_INTERNAL', message, { cause: e });
}

export const invalidArgument = (message: string): PassvolError => new PassvolError('PV_ERR_INVALID_ARGUMENT', message);
export const notFound = (message: string): PassvolError => new PassvolError('PV_ERR_NOT_FOUND', message);
export const failedPrecondition = (message: string): PassvolError =>
  new PassvolError('PV_ERR_FAILED_PRECONDITION', message);

/** The errno code of a Node system error, if it is one. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}
