import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codec } from './messages.js';
import { Code, encodeFrame, FrameDecoder, MAX_MESSAGE, TtrpcError, TtrpcServer, ttrpcCall, TYPE_REQUEST } from './ttrpc.js';

const Request = codec<{ service: string; method: string; payload: Buffer }>('ttrpc.Request');
const Response = codec<{ status: { code: number; message: string } | null; payload: Buffer }>('ttrpc.Response');

test('FrameDecoder: frames split across chunks and run together come out whole', () => {
  const a = encodeFrame(1, TYPE_REQUEST, Buffer.from('first'));
  const b = encodeFrame(3, TYPE_REQUEST, Buffer.from('second'));
  const wire = Buffer.concat([a, b]);
  const d = new FrameDecoder();
  const frames = [...d.push(wire.subarray(0, 4)), ...d.push(wire.subarray(4, a.length + 3)), ...d.push(wire.subarray(a.length + 3))];
  assert.deepEqual(frames.map((f) => [f.streamId, f.data.toString()]), [[1, 'first'], [3, 'second']]);
});

test('FrameDecoder: a frame over 4 MiB is skipped and reported; the next one still decodes', () => {
  const header = Buffer.alloc(10);
  header.writeUInt32BE(MAX_MESSAGE + 1, 0);
  header.writeUInt32BE(5, 4);
  header.writeUInt8(TYPE_REQUEST, 8);
  const oversized: number[] = [];
  const d = new FrameDecoder();
  const out = [...d.push(header, (id) => oversized.push(id)), ...d.push(Buffer.alloc(MAX_MESSAGE + 1)), ...d.push(encodeFrame(7, TYPE_REQUEST, Buffer.from('ok')))];
  assert.deepEqual(oversized, [5]);
  assert.deepEqual(out.map((f) => f.streamId), [7]);
});

async function withServer(run: (socket: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-ttrpc-'));
  const socket = join(dir, 's', 'shim.sock');
  let release: () => void = () => undefined;
  const blocked = new Promise<void>((r) => (release = r));
  const server = new TtrpcServer({
    'svc/Echo': async (p) => Buffer.concat([Buffer.from('echo:'), p]),
    'svc/Block': async () => {
      await blocked;
      return Buffer.from('unblocked');
    },
    'svc/Release': async () => {
      release();
      return Buffer.alloc(0);
    },
    'svc/Missing': async () => {
      throw new TtrpcError(Code.NOT_FOUND, 'no such task');
    },
    'svc/Bug': async () => {
      throw new Error('boom');
    },
  });
  await server.listen(socket);
  try {
    await run(socket);
  } finally {
    release();
    await server.close(socket);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('TtrpcServer: answers a call, passes a TtrpcError code on, and says UNIMPLEMENTED for unknown methods', async () => {
  await withServer(async (socket) => {
    assert.equal((await ttrpcCall(socket, 'svc', 'Echo', Buffer.from('hi'), 2000)).toString(), 'echo:hi');
    await assert.rejects(ttrpcCall(socket, 'svc', 'Missing', Buffer.alloc(0), 2000), (e: TtrpcError) => e.code === Code.NOT_FOUND && /no such task/.test(e.message));
    await assert.rejects(ttrpcCall(socket, 'svc', 'Bug', Buffer.alloc(0), 2000), (e: TtrpcError) => e.code === Code.UNKNOWN);
    await assert.rejects(ttrpcCall(socket, 'svc', 'Nope', Buffer.alloc(0), 2000), (e: TtrpcError) => e.code === Code.UNIMPLEMENTED);
    await assert.rejects(ttrpcCall(socket, 'svc', 'hasOwnProperty', Buffer.alloc(0), 2000), (e: TtrpcError) => e.code === Code.UNIMPLEMENTED);
  });
});

test('TtrpcServer: calls on one connection are answered concurrently (a blocked Wait holds nothing up); even stream ids are refused', async () => {
  await withServer(async (socket) => {
    const s = connect(socket);
    const answers: { streamId: number; code: number; payload: string }[] = [];
    const d = new FrameDecoder();
    s.on('data', (c: Buffer) => {
      for (const f of d.push(c)) {
        const r = Response.decode(f.data);
        answers.push({ streamId: f.streamId, code: r.status?.code ?? 0, payload: r.payload.toString() });
      }
    });
    const send = (id: number, method: string) => s.write(encodeFrame(id, TYPE_REQUEST, Request.encode({ service: 'svc', method, payload: Buffer.from('x') })));
    send(1, 'Block');
    send(3, 'Echo');
    send(4, 'Echo');
    send(5, 'Release');
    for (let i = 0; i < 100 && answers.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    assert.deepEqual(answers.find((a) => a.streamId === 3), { streamId: 3, code: 0, payload: 'echo:x' });
    assert.equal(answers.find((a) => a.streamId === 4)?.code, Code.INVALID_ARGUMENT);
    const order = answers.map((a) => a.streamId);
    assert.ok(order.indexOf(3) < order.indexOf(1), `Echo was answered before the blocked call: ${order.join(',')}`);
    assert.equal(answers.find((a) => a.streamId === 1)?.payload, 'unblocked');
  });
});

test('ttrpcCall: a socket nobody serves fails with UNAVAILABLE', async () => {
  await assert.rejects(ttrpcCall('/nonexistent/passvol.sock', 'svc', 'Echo', Buffer.alloc(0), 500), (e: TtrpcError) => e.code === Code.UNAVAILABLE);
});
