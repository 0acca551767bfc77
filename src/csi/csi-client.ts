// A CSI gRPC client on a unix socket with promise-returning calls: what kubelet and the sidecars are to the
// driver, for the demo, the benchmarks and the tests.
import * as grpc from '@grpc/grpc-js';
import { loadCsiPackage } from './proto/load-csi.js';

type Call = (request: object) => Promise<Record<string, unknown>>;
export interface CsiClient {
  identity: Record<string, Call>;
  controller: Record<string, Call>;
  node: Record<string, Call>;
  close(): void;
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
          (client as unknown as Record<string, (r: object, cb: (e: Error | null, res: Record<string, unknown>) => void) => void>)[method]!(request, (e, res) =>
            e ? reject(e) : resolve(res),
          );
        });
    }
    return { client, calls };
  };
  const parts = [make('Identity'), make('Controller'), make('Node')] as const;
  return {
    identity: parts[0].calls,
    controller: parts[1].calls,
    node: parts[2].calls,
    close: () => parts.forEach((x) => x.client.close()),
  };
}
