import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseQmpLine, QmpClient, QmpError } from './qmp-client.js';
import { deviceDel, queryStatus } from './qmp-commands.js';
import { isPassvolError } from '../../common/errors.js';

const GREETING = '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18"}, "capabilities": ["oob"]}}';
const log = pino({ level: 'silent' });

test('parses greetings, replies, errors and events, and flags anything else', () => {
  assert.deepEqual(parseQmpLine(GREETING), { kind: 'greeting', version: { major: 7, minor: 2, micro: 22 } });
  assert.deepEqual(parseQmpLine('{"return": {}, "id": 3}'), { kind: 'return', id: 3, value: {} });
  assert.deepEqual(parseQmpLine('{"error": {"class": "GenericError", "desc": "Cannot grow device files"}, "id": 4}'), {
    kind: 'error',
    id: 4,
    class: 'GenericError',
    desc: 'Cannot grow device files',
  });
  const ev = parseQmpLine('{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "DEVICE_DELETED", "data": {"device": "vol1", "path": "/machine/peripheral/vol1"}}');
  assert.equal(ev.kind, 'event');
  assert.equal(ev.kind === 'event' && ev.event.data?.device, 'vol1');
  assert.equal(parseQmpLine('not json').kind, 'unknown');
  assert.equal(parseQmpLine('{"error": "no class"}').kind, 'unknown');
  assert.equal(parseQmpLine('[1,2]').kind, 'unknown');
});

/** A fake QEMU: greets, then answers each command with `answer(command, args)`. */
async function fakeQemu(answer: (cmd: string, args: Record<string, unknown> | undefined, socket: Socket, id: number) => string | undefined) {
  const dir = await mkdtemp(join(tmpdir(), 'pv-qmp-'));
  const path = join(dir, 'qmp.sock');
  const server = createServer((socket) => {
    socket.write(GREETING + '\r\n');
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl)) as { execute: string; arguments?: Record<string, unknown>; id: number };
        buf = buf.slice(nl + 1);
        const reply = answer(req.execute, req.arguments, socket, req.id);
        if (reply !== undefined) socket.write(reply.replace('$ID', String(req.id)) + '\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, close: async () => (server.close(), await rm(dir, { recursive: true, force: true })) };
}

test('negotiates, matches replies to requests by id, and turns QMP errors into QmpError', async () => {
  const q = await fakeQemu((cmd) => {
    if (cmd === 'qmp_capabilities') return '{"return": {}, "id": $ID}';
    if (cmd === 'query-status') return '{"return": {"status": "running", "singlestep": false, "running": true}, "id": $ID}';
    if (cmd === 'block_resize') return '{"error": {"class": "GenericError", "desc": "Cannot grow device files"}, "id": $ID}';
    return undefined;
  });
  const client = await QmpClient.connect(q.path, { log, timeoutMs: 2000 });
  try {
    assert.deepEqual(client.version, { major: 7, minor: 2, micro: 22 });
    assert.deepEqual(await queryStatus(client), { status: 'running', singlestep: false, running: true });
    await assert.rejects(client.execute('block_resize', { 'node-name': 'x', size: 1 }), (e: unknown) => e instanceof QmpError && e.desc === 'Cannot grow device files');
    await assert.rejects(client.execute('never-answered', undefined, { timeoutMs: 50 }), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_TIMEOUT');
  } finally {
    client.close();
    await q.close();
  }
});

test('device_del waits for DEVICE_DELETED of that device, not of another', async () => {
  const q = await fakeQemu((cmd, args, socket, id) => {
    if (cmd !== 'device_del') return '{"return": {}, "id": $ID}';
    socket.write(`{"return": {}, "id": ${id}}\r\n`);
    setTimeout(() => socket.write('{"event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/other"}, "timestamp": {"seconds": 1, "microseconds": 0}}\r\n'), 10);
    // A guest that never releases the device sends no event at all.
    if (args?.id !== 'stuck') setTimeout(() => socket.write(`{"event": "DEVICE_DELETED", "data": {"device": "${String(args?.id)}", "path": "/x"}, "timestamp": {"seconds": 1, "microseconds": 0}}\r\n`), 40);
    return undefined;
  });
  const client = await QmpClient.connect(q.path, { log, timeoutMs: 2000 });
  try {
    const started = Date.now();
    await deviceDel(client, 'vol1', 2000);
    assert.ok(Date.now() - started >= 30);
    await assert.rejects(deviceDel(client, 'stuck', 100), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_TIMEOUT' && /did not release device stuck/.test(e.message));
  } finally {
    client.close();
    await q.close();
  }
});

test('a closed connection fails pending requests and later ones', async () => {
  const q = await fakeQemu((cmd, _args, socket) => {
    if (cmd === 'qmp_capabilities') return '{"return": {}, "id": $ID}';
    socket.destroy();
    return undefined;
  });
  const client = await QmpClient.connect(q.path, { log, timeoutMs: 2000 });
  try {
    await assert.rejects(client.execute('quit'), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_SANDBOX_UNREACHABLE');
    await assert.rejects(client.execute('query-status'), /closed/);
  } finally {
    await q.close();
  }
});

test('connect gives up when nobody listens', async () => {
  await assert.rejects(QmpClient.connect('/nonexistent/qmp.sock', { log, timeoutMs: 100 }), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_SANDBOX_UNREACHABLE');
});
