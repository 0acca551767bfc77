// ttrpc, the RPC containerd speaks to its shims: frames of a 10-byte header (data length and stream id,
// both big-endian u32, then a type byte and a flags byte) and one protobuf Request or Response. Version
// 1.1 (Debian 12's containerd) has unary calls only; requests are answered concurrently, in any order, so a
// Wait that blocks for a task's whole life never holds up the calls behind it.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { GrpcCode } from '../../common/errors.js';
import { codec } from './messages.js';

const HEADER = 10;
/** ttrpc's own limit on a frame's data. */
export const MAX_MESSAGE = 4 << 20;
export const TYPE_REQUEST = 1;
export const TYPE_RESPONSE = 2;

/** ttrpc carries gRPC's status codes, which containerd maps to its errors. */
export const Code = GrpcCode;

export class TtrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Request {
  service: string;
  method: string;
  payload: Buffer;
  timeout_nano: number;
  metadata: { key: string; value: string }[];
}
interface Response {
  status?: { code: number; message: string } | null;
  payload: Buffer;
}
const RequestCodec = codec<Request>('ttrpc.Request');
const ResponseCodec = codec<Response>('ttrpc.Response');

interface Frame {
  streamId: number;
  type: number;
  data: Buffer;
}

export function encodeFrame(streamId: number, type: number, data: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(data.length, 0);
  header.writeUInt32BE(streamId, 4);
  header.writeUInt8(type, 8);
  return Buffer.concat([header, data]);
}

/** Cuts a byte stream into frames. An oversized frame is skipped and reported, as ttrpc does. */
export class FrameDecoder {
  private buf = Buffer.alloc(0);
  private skipping = 0;

  push(chunk: Buffer, onOversized: (streamId: number) => void = () => undefined): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.buf.length);
        this.skipping -= n;
        this.buf = this.buf.subarray(n);
        if (this.skipping > 0) return frames;
      }
      if (this.buf.length < HEADER) return frames;
      const length = this.buf.readUInt32BE(0);
      const streamId = this.buf.readUInt32BE(4);
      const type = this.buf.readUInt8(8);
      if (length > MAX_MESSAGE) {
        this.buf = this.buf.subarray(HEADER);
        this.skipping = length;
        onOversized(streamId);
        continue;
      }
      if (this.buf.length < HEADER + length) return frames;
      frames.push({ streamId, type, data: Buffer.from(this.buf.subarray(HEADER, HEADER + length)) });
      this.buf = this.buf.subarray(HEADER + length);
    }
  }
}

/** A method: the request's payload in, the response's payload out; a TtrpcError sets the status. */
export type Handler = (payload: Buffer, context: { metadata: Record<string, string>; connection: number }) => Promise<Buffer>;

export interface TtrpcServerOptions {
  /** Told of failures that are not a TtrpcError (a bug, or a part below failing). */
  onError?: (method: string, error: Error) => void;
  /** Told when a client's connection closes. */
  onDisconnect?: (connection: number) => void;
}

export class TtrpcServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private nextConnection = 1;

  constructor(
    private readonly handlers: Record<string, Handler>,
    private readonly o: TtrpcServerOptions = {},
  ) {
    this.server = createServer((s) => this.serve(s));
  }

  /** Listens on a unix socket only its owner may open (containerd's shims run as root, as it does). */
  async listen(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(path, resolve));
    await chmod(path, 0o600);
  }

  async close(path?: string): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    if (path) await rm(path, { force: true });
  }

  private serve(socket: Socket): void {
    const connection = this.nextConnection++;
    const decoder = new FrameDecoder();
    this.sockets.add(socket);
    const respond = (streamId: number, r: Response) => {
      if (!socket.destroyed) socket.write(encodeFrame(streamId, TYPE_RESPONSE, ResponseCodec.encode(r)));
    };
    const fail = (streamId: number, code: number, message: string) => respond(streamId, { status: { code, message }, payload: Buffer.alloc(0) });
    socket.on('data', (chunk: Buffer) => {
      const frames = decoder.push(chunk, (id) => fail(id, Code.RESOURCE_EXHAUSTED, `message larger than ${MAX_MESSAGE} bytes`));
      for (const f of frames) {
        // Types this version does not know are ignored, as ttrpc does.
        if (f.type !== TYPE_REQUEST) continue;
        if (f.streamId % 2 === 0) {
          fail(f.streamId, Code.INVALID_ARGUMENT, 'a request must use an odd stream id');
          continue;
        }
        void this.dispatch(f, connection).then((r) => respond(f.streamId, r));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.o.onDisconnect?.(connection);
    });
  }

  private async dispatch(f: Frame, connection: number): Promise<Response> {
    let req: Request;
    try {
      req = RequestCodec.decode(f.data);
    } catch (e) {
      return { status: { code: Code.INVALID_ARGUMENT, message: `not a ttrpc request: ${(e as Error).message}` }, payload: Buffer.alloc(0) };
    }
    const name = `${req.service}/${req.method}`;
    const handler = Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
    if (!handler) return { status: { code: Code.UNIMPLEMENTED, message: `${name} is not implemented` }, payload: Buffer.alloc(0) };
    try {
      const metadata = Object.fromEntries(req.metadata.map((m) => [m.key, m.value]));
      return { payload: await handler(req.payload, { metadata, connection }) };
    } catch (e) {
      if (e instanceof TtrpcError) return { status: { code: e.code, message: e.message }, payload: Buffer.alloc(0) };
      this.o.onError?.(name, e as Error);
      return { status: { code: Code.UNKNOWN, message: (e as Error).message }, payload: Buffer.alloc(0) };
    }
  }
}

/** One unary call on a fresh connection (the shim's few calls to containerd: event forwarding). */
export async function ttrpcCall(socketPath: string, service: string, method: string, payload: Buffer, timeoutMs: number, metadata: Record<string, string> = {}): Promise<Buffer> {
  const socket = connect(socketPath);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TtrpcError(Code.DEADLINE_EXCEEDED, `${service}/${method}: no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        f();
      };
      const decoder = new FrameDecoder();
      socket.once('error', (e) => done(() => reject(new TtrpcError(Code.UNAVAILABLE, `${socketPath}: ${e.message}`))));
      socket.once('close', () => done(() => reject(new TtrpcError(Code.UNAVAILABLE, `${socketPath} closed before answering ${service}/${method}`))));
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          if (f.type !== TYPE_RESPONSE || f.streamId !== 1) continue;
          const r = ResponseCodec.decode(f.data);
          if (r.status && r.status.code !== Code.OK) done(() => reject(new TtrpcError(r.status!.code, r.status!.message)));
          else done(() => resolve(r.payload));
        }
      });
      const req: Request = { service, method, payload, timeout_nano: timeoutMs * 1_000_000, metadata: Object.entries(metadata).map(([key, value]) => ({ key, value })) };
      socket.write(encodeFrame(1, TYPE_REQUEST, RequestCodec.encode(req)));
    });
  } finally {
    socket.destroy();
  }
}
