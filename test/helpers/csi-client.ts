// A real CSI gRPC client on the driver's unix socket, with promise-returning calls.
import * as grpc from '@grpc/grpc-js';
import { loadCsiPackage } from '../../src/csi/proto/load-csi.js';

type Call = (request: object) => Promise<Record<string, unknown>>;
export type CsiClient = { identity: Record<string, Call>; controller: Record<string, Call>; node: Record<string, Call>; close(): void };

export interface GrpcFailure extends Error {
  code: number;
  details: string;
}

export function csiClient(socketPath: string): CsiClient {
  const { pkg } = loadCsiPackage();
  const make = (name: string) => {
    const Ctor = pkg[name] as unknown as grpc.ServiceClientConstructor;
    const client = new Ctor(`unix://${socketPath}`, grpc.credentials.createInsecure());
    const calls: Record<string, Call> = {};
    for (const method of Object.keys(Ctor.service)) {
      calls[method] = (request) =>
        new Promise((resolve, reject) => {
          (client as unknown as Record<string, (r: object, cb: (e: Error | null, res: Record<string, unknown>) => void) => void>)[method]!(request, (e, res) => (e ? reject(e) : resolve(res)));
        });
    }
    return { client, calls };
  };
  const i = make('Identity');
  const c = make('Controller');
  const n = make('Node');
  return {
    identity: i.calls,
    controller: c.calls,
    node: n.calls,
    close: () => [i, c, n].forEach((x) => x.client.close()),
  };
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
