// The CSI client lives in src/csi; tests add assertions on gRPC failures.
export { csiClient, type CsiClient } from '../../src/csi/csi-client.js';

export interface GrpcFailure extends Error {
  code: number;
  details: string;
}

export const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12 } as const;

/** Asserts a call fails with the gRPC code, and returns the message for further checks. */
export async function failsWith(p: Promise<unknown>, code: number): Promise<string> {
  try {
    await p;
  } catch (e) {
    const g = e as GrpcFailure;
    if (g.code !== code) throw new Error(`expected gRPC code ${code}, got ${g.code}: ${g.details}`);
    return g.details;
  }
  throw new Error(`expected gRPC code ${code}, but the call succeeded`);
}
