// The NFS forward relay as QEMU runs it: its stdin, stdout and stderr one TCP socket (QEMU's end of a
// loopback connection), its argv the server. Real sockets, a real perl.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORWARD_RELAY } from './cmdline.js';

/** A loopback TCP pair: `qemu` is QEMU's end, `child` the one the relay gets as stdio. */
async function socketPair(): Promise<{ qemu: Socket; child: Socket; close(): void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const child = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  await once(child, 'connect');
  const [qemu] = await accepted;
  listener.close();
  return { qemu, child, close: () => (qemu.destroy(), child.destroy()) };
}

async function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

const slotsDir = mkdtempSync(join(tmpdir(), 'passvol-relay-slots-'));
after(() => rmSync(slotsDir, { recursive: true, force: true }));

function startRelay(stdio: Socket, port: number, o: { host?: string; slots?: number } = {}): ChildProcess {
  const relay = spawn(FORWARD_RELAY.interpreter, [FORWARD_RELAY.script, o.host ?? '127.0.0.1', String(port), slotsDir, String(o.slots ?? 32)], { stdio: [stdio, stdio, stdio] });
  stdio.destroy(); // the relay has it now, as QEMU closes its copy after the spawn
  return relay;
}

const collect = (s: Socket): Promise<Buffer> => {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return once(s, 'end').then(() => Buffer.concat(parts));
};

test('bytes go both ways at once, megabytes of them, and the server closing ends the guest connection', { timeout: 30_000 }, async () => {
  const toServer = Buffer.alloc(8 * 2 ** 20, 'g');
  const toGuest = Buffer.alloc(8 * 2 ** 20, 's');
  let atServer: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  const { server, port } = await listen((s) => {
    atServer = collect(s);
    // Writes as much as the guest does before reading anything back: a relay that blocked on one
    // direction would deadlock here.
    s.write(toGuest, () => s.end());
  });
  const { qemu } = await socketPair().then((p) => {
    const relay = startRelay(p.child, port);
    return { qemu: p.qemu, relay };
  });
  const atGuest = collect(qemu);
  qemu.write(toServer);
  assert.ok((await atGuest).equals(toGuest), 'the guest got all the server sent, then its end');
  qemu.end();
  assert.ok((await atServer).equals(toServer), 'the server got all the guest sent');
  server.close();
});

test('the guest closing ends the server connection; an unreachable server ends the guest connection with nothing written', { timeout: 30_000 }, async () => {
  let atServer: Promise<Buffer> | undefined;
  const up = await listen((s) => void (atServer = collect(s)));
  const first = await socketPair();
  const firstRelay = startRelay(first.child, up.port);
  first.qemu.end('request');
  await once(firstRelay, 'exit');
  assert.equal((await atServer)?.toString(), 'request', 'the server got the request, then its end');
  up.server.close();

  const { server, port } = await listen(() => undefined);
  server.close(); // nobody listens on that port now
  await once(server, 'close');
  const pair = await socketPair();
  const relay = startRelay(pair.child, port);
  assert.equal((await collect(pair.qemu)).length, 0, 'no error text in the guest stream');
  const [code] = (await once(relay, 'exit')) as [number];
  assert.equal(code, 1);
});

test('bad arguments: the relay exits without connecting anywhere', async () => {
  const pair = await socketPair();
  const relay = startRelay(pair.child, 2049, { host: 'not an address' });
  assert.equal((await collect(pair.qemu)).length, 0);
  assert.deepEqual(await once(relay, 'exit'), [2, null]);
});

test('a VM has at most its slots of relays at once: one more closes its guest connection at once', { timeout: 30_000 }, async () => {
  const held: Socket[] = [];
  const { server, port } = await listen((s) => held.push(s));
  const first = await socketPair();
  const running = startRelay(first.child, port, { slots: 1 });
  while (held.length === 0) await new Promise((r) => setTimeout(r, 20));
  const second = await socketPair();
  const refused = startRelay(second.child, port, { slots: 1 });
  assert.equal((await collect(second.qemu)).length, 0);
  assert.deepEqual(await once(refused, 'exit'), [3, null]);
  assert.equal(held.length, 1, 'the refused one did not connect');
  first.qemu.end();
  held[0]?.end();
  await once(running, 'exit');
  server.close();
});

test('a relay whose guest side is gone ends even while the server reads nothing', { timeout: 30_000 }, async () => {
  const held: Socket[] = [];
  const { server, port } = await listen((s) => (s.pause(), held.push(s))); // a hung NAS: accepts, never reads
  const pair = await socketPair();
  const relay = startRelay(pair.child, port);
  pair.qemu.write(Buffer.alloc(32 * 2 ** 20)); // more than the relay and both sockets hold
  await new Promise((r) => setTimeout(r, 500));
  pair.qemu.resetAndDestroy(); // QEMU is gone (killed, its socket reset)
  const [code] = (await once(relay, 'exit')) as [number];
  assert.equal(code, 0);
  for (const s of held) s.destroy();
  server.close();
});
