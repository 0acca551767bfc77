// The real agent process on a unix socket: ping, guestInfo, and malformed input that must never crash it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeLine, MAX_LINE_BYTES, PROTOCOL_VERSION } from '../../../src/protocol/index.js';
import { needsRoot, startAgent, type AgentUnderTest } from './agent-harness.js';

let agent: AgentUnderTest;
before(async () => {
  if (needsRoot) return;
  agent = await startAgent();
});
after(() => agent?.stop());

test('ping and guestInfo answer with schema-valid results', { skip: needsRoot }, async (t) => {
  const ping = await agent.client.request('ping', {});
  assert.equal(ping.protocol, PROTOCOL_VERSION);
  assert.match(ping.bootId, /^[0-9a-f-]{36}$/);
  const info = await agent.client.request('guestInfo', {});
  assert.ok(info.memTotalKiB > 0 && info.memAvailableKiB > 0 && info.agentRssKiB > 0);
  assert.equal(info.loadavg.length, 3);
  t.diagnostic(`agent (tsx, from source) accepted connections ${Math.round(agent.startMs)} ms after spawn; RSS ${info.agentRssKiB} KiB`);
});

test('malformed lines get error responses and the agent keeps serving', { skip: needsRoot }, async () => {
  const c = agent.client;
  await c.raw('this is not json\n');
  await c.raw(`{"v":${PROTOCOL_VERSION},"op":"ping"}\n`);
  await c.waitFor(() => (c.anonymous.length >= 2 ? true : undefined));
  assert.deepEqual(c.anonymous.map((r) => !r.ok && r.error.code), ['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);

  const unknown = await c.raw(encodeLine({ v: PROTOCOL_VERSION, id: 9001, op: 'formatDisk', args: {} }), 9001);
  assert.ok(!unknown.ok && unknown.error.code === 'INVALID_ARGUMENT' && /unknown op/.test(unknown.error.message));
  const badArgs = await c.raw(encodeLine({ v: PROTOCOL_VERSION, id: 9002, op: 'mount', args: { target: 5 } }), 9002);
  assert.ok(!badArgs.ok && badArgs.error.code === 'INVALID_ARGUMENT' && /args\.source/.test(badArgs.error.message));
  const version = await c.raw(encodeLine({ v: 7, id: 9003, op: 'ping' }), 9003);
  assert.ok(!version.ok && version.error.code === 'FAILED_PRECONDITION');

  // A request line of more than 1 MiB: dropped, answered with its id, and the next line is read intact.
  const head = encodeLine({ v: PROTOCOL_VERSION, id: 9004, op: 'writeStdin', args: { containerId: 'c', execId: 'e', data: '' } }).toString().slice(0, -4);
  const oversize = `${head}${'A'.repeat(MAX_LINE_BYTES)}"}}\n`;
  const [big, next] = await Promise.all([c.raw(oversize, 9004), c.raw(encodeLine({ v: PROTOCOL_VERSION, id: 9005, op: 'ping' }), 9005)]);
  assert.ok(!big.ok && /exceeds the 1048576-byte limit/.test(big.error.message));
  assert.ok(next.ok);

  // A request trickled in one byte at a time.
  const bytes = encodeLine({ v: PROTOCOL_VERSION, id: 9006, op: 'ping', args: {} });
  const answered = c.raw(Buffer.alloc(0), 9006);
  for (const b of bytes) c.socket.write(Buffer.from([b]));
  assert.ok((await answered).ok);

  assert.equal(agent.child.exitCode, null, 'the agent is still running');
  assert.ok((await c.request('ping', {})).uptimeMs >= 0);
});

test('requests are answered concurrently and matched by id', { skip: needsRoot }, async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? agent.client.request('ping', {}) : agent.client.request('guestInfo', {}))));
  assert.equal(results.length, 50);
});

test('refused paths and options name what is wrong', { skip: needsRoot }, async () => {
  const c = agent.client;
  const cases: [Parameters<typeof c.failure<'mount'>>[1], RegExp][] = [
    [{ source: { kind: 'block', serial: 's1' }, target: '/etc', fstype: 'ext4' }, /must be under \/run\/passvol\//],
    [{ source: { kind: 'block', serial: 's1' }, target: '/run/passvol/../etc', fstype: 'ext4' }, /normalised/],
    [{ source: { kind: 'block', serial: 's1' }, target: '/run/passvol/v', fstype: 'ext4', options: ['bind'] }, /"bind" is refused/],
    [{ source: { kind: 'block', serial: 's1' }, target: '/run/passvol/v', fstype: 'ext4', options: ['suid'] }, /"suid" is refused/],
    [{ source: { kind: 'block', serial: 's1' }, target: '/run/passvol/v', fstype: 'ext4', options: ['remount'] }, /"remount" is refused/],
    [{ source: { kind: 'block', serial: 's1' }, target: '/run/passvol/v', fstype: 'ext4', options: ['user_xattr'] }, /"user_xattr" is not allowed/],
    [{ source: { kind: 'nfs', server: 'nas.example', path: '/e', fstype: 'nfs', options: [] }, target: '/run/passvol/v', fstype: 'nfs' }, /IP address/],
  ];
  for (const [args, message] of cases) {
    const e = await c.failure('mount', args);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, message);
  }
  const dest = await c.failure('createContainer', {
    containerId: 'c-bad',
    rootfs: '/run/passvol/c-bad/rootfs',
    mounts: [{ source: '/run/passvol/v', destination: '/data/../../etc' }],
    process: { args: ['/bin/true'], uid: 0, gid: 0 },
  });
  assert.equal(dest.code, 'INVALID_ARGUMENT');
  const outside = await c.failure('statfs', { path: '/' });
  assert.equal(outside.code, 'INVALID_ARGUMENT');
  const nothing = await c.failure('statfs', { path: '/run/passvol/nothing-here' });
  assert.equal(nothing.code, 'NOT_FOUND');
});

// Last: it ends the agent.
test('shutdown answers, then the agent exits 0', { skip: needsRoot }, async () => {
  const exited = new Promise<number | null>((resolve) => agent.child.once('exit', (code) => resolve(code)));
  assert.deepEqual(await agent.client.request('shutdown', {}), {});
  assert.equal(await exited, 0);
});
