// The protobuf messages of the shim's two wire protocols (ttrpc.proto: the ttrpc envelope; task.proto:
// containerd's task service and events), loaded once with field names as the .proto spells them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** Beside this module under tsx; back in src/ when it runs from dist/ (tsc does not copy .proto files). */
function protoPath(name: string): string {
  const candidates = [new URL(`./proto/${name}`, import.meta.url), new URL(`../../../src/runtime/containerd/proto/${name}`, import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`${name} not found at ${candidates.join(' or ')}`);
  return found;
}

const root = new protobuf.Root().loadSync([protoPath('ttrpc.proto'), protoPath('task.proto')], { keepCase: true });

const DECODE: protobuf.IConversionOptions = { longs: Number, bytes: Buffer, defaults: true, enums: Number };

/** One message type: encode from a plain object, decode to one (unset fields at their proto3 defaults). */
export interface MessageCodec<T> {
  encode(value: T): Buffer;
  decode(bytes: Uint8Array): T;
}

export function codec<T>(name: string): MessageCodec<T> {
  const type = root.lookupType(name);
  return {
    encode: (value) => {
      const problem = type.verify(value as Record<string, unknown>);
      if (problem) throw new Error(`${name}: ${problem}`);
      return Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
    },
    decode: (bytes) => type.toObject(type.decode(bytes), DECODE) as T,
  };
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Any {
  type_url: string;
  value: Buffer;
}

export const toTimestamp = (d: Date): Timestamp => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1_000_000 });

export const protoType = (name: string): string => `passvol.containerd.${name}`;
