import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentErrorCode } from './errors.js';
import { decodeAgentMessage, PROTOCOL_VERSION, recoverRequestId, RequestEnvelope } from './messages.js';
import { OP_NAMES, REQUEST_TABLE, isOpName, makeRequest, parseArgs, parseResult } from './request-table.js';

test('the request table names every op of the protocol, each with an args and a result schema', () => {
  assert.deepEqual([...OP_NAMES].sort(), [
    'closeStdin', 'containerStats', 'createContainer', 'deleteContainer', 'freezeContainer', 'freezeFilesystem', 'growFilesystem', 'guestInfo', 'mount', 'ping', 'resizeTerminal',
    'setClock', 'setupNetwork', 'setupPodNetwork', 'shutdown', 'signal', 'startProcess', 'statfs', 'thawFilesystem', 'unmount', 'updateContainer', 'wait', 'writeStdin',
  ]);
  for (const op of OP_NAMES) {
    assert.ok(REQUEST_TABLE[op].args && REQUEST_TABLE[op].result, op);
  }
  assert.equal(isOpName('ping'), true);
  assert.equal(isOpName('toString'), false);
});

test('the error codes are the agreed set', () => {
  assert.deepEqual(AgentErrorCode.options, [
    'INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION', 'ALREADY_EXISTS', 'INTERNAL', 'UNAVAILABLE', 'PERMISSION_DENIED',
  ]);
});

test('mount args: each source kind parses, defaults fill in, unknown keys are refused', () => {
  const block = parseArgs('mount', { source: { kind: 'block', serial: 'pv-0001' }, target: '/run/passvol/v/1', fstype: 'ext4' });
  assert.deepEqual(block.options, []);
  const nfs = parseArgs('mount', {
    source: { kind: 'nfs', server: '10.0.2.100', path: '/export', fstype: 'nfs4', options: ['vers=4.1'] },
    target: '/run/passvol/v/2',
    fstype: 'nfs4',
    options: ['noatime'],
    fsGroup: 2000,
    fsGroupChangePolicy: 'OnRootMismatch',
  });
  assert.equal(nfs.source.kind, 'nfs');
  parseArgs('mount', { source: { kind: 'virtiofs', tag: 'share0' }, target: '/run/passvol/rootfs', fstype: 'virtiofs' });
  parseArgs('mount', { source: { kind: '9p', tag: 'share0' }, target: '/run/passvol/rootfs', fstype: '9p' });
  assert.throws(() => parseArgs('mount', { source: { kind: 'block', serial: 'x' }, target: 'relative', fstype: 'ext4' }));
  assert.throws(() => parseArgs('mount', { source: { kind: 'block', serial: 'x' }, target: '/run/passvol/a', fstype: 'ext4', extra: 1 }));
  assert.throws(() => parseArgs('mount', { source: { kind: 'usb', serial: 'x' }, target: '/run/passvol/a', fstype: 'ext4' }));
  assert.throws(() => parseArgs('mount', { source: { kind: 'block', serial: 'has space' }, target: '/run/passvol/a', fstype: 'ext4' }));
  assert.throws(() => parseArgs('mount', { source: { kind: 'block', serial: 'x' }, target: '/run/passvol/a', fstype: 'ext4', fsGroupChangePolicy: 'Sometimes' }));
});

test('container args: ids, env entries, uid range and base64 stdin are checked', () => {
  const ok = parseArgs('createContainer', {
    containerId: 'c1',
    rootfs: '/run/passvol/c1/rootfs',
    mounts: [{ source: '/run/passvol/v/1', destination: '/data' }],
    process: { args: ['/bin/sh'], uid: 1000, gid: 1000 },
  });
  assert.equal(ok.process.cwd, '/');
  assert.deepEqual(ok.mounts[0], { source: '/run/passvol/v/1', destination: '/data', readonly: false });
  const kernel = parseArgs('createContainer', { containerId: 'c1', rootfs: '/r', mounts: [{ fstype: 'sysfs', destination: '/sys' }], process: { args: ['x'], uid: 0, gid: 0 } });
  assert.deepEqual(kernel.mounts[0], { fstype: 'sysfs', destination: '/sys', options: [] });
  const bad = (over: Record<string, unknown>) => () =>
    parseArgs('createContainer', { containerId: 'c1', rootfs: '/r', process: { args: ['x'], uid: 0, gid: 0 }, ...over });
  assert.throws(bad({ containerId: '../x' }));
  assert.throws(bad({ process: { args: [], uid: 0, gid: 0 } }));
  assert.throws(bad({ process: { args: ['x'], uid: -1, gid: 0 } }));
  assert.throws(bad({ process: { args: ['x'], uid: 0, gid: 0, env: ['NOEQUALS'] } }));
  assert.throws(bad({ mounts: [{ source: '/a', destination: '/b', propagation: 'rshared' }] }));
  assert.throws(bad({ mounts: [{ fstype: 'ext4', destination: '/b' }] }));
  assert.throws(bad({ mounts: [{ fstype: 'tmpfs', source: '/a', destination: '/b' }] }));
  parseArgs('writeStdin', { containerId: 'c1', execId: 'e1', data: Buffer.from('hi').toString('base64') });
  assert.throws(() => parseArgs('writeStdin', { containerId: 'c1', execId: 'e1', data: 'not base64!' }));
  parseArgs('signal', { containerId: 'c1', execId: 'e1', signal: 'SIGTERM' });
  parseArgs('signal', { containerId: 'c1', execId: 'e1', signal: 9 });
  assert.throws(() => parseArgs('signal', { containerId: 'c1', execId: 'e1', signal: 'TERM' }));
});

test('results: statfs, wait and ping results validate; extra fields from a newer agent are tolerated', () => {
  const usage = { total: 10, used: 4, available: 6 };
  assert.deepEqual(parseResult('statfs', { bytes: usage, inodes: usage, newField: 1 }), { bytes: usage, inodes: usage });
  assert.throws(() => parseResult('statfs', { bytes: { total: -1, used: 0, available: 0 }, inodes: usage }));
  assert.deepEqual(parseResult('wait', { exitCode: 137, signal: 'SIGKILL' }), { exitCode: 137, signal: 'SIGKILL' });
  assert.throws(() => parseResult('ping', { version: '1', protocol: PROTOCOL_VERSION + 1, uptimeMs: 1, bootId: 'b' }));
});

test('makeRequest validates args on the sending side', () => {
  assert.deepEqual(makeRequest(3, 'statfs', { path: '/run/passvol/v' }), { v: 3, id: 3, op: 'statfs', args: { path: '/run/passvol/v' } });
  // @ts-expect-error path must be a string
  assert.throws(() => makeRequest(3, 'statfs', { path: 3 }));
});

test('envelopes: strict requests; responses and events decode for clients', () => {
  assert.equal(RequestEnvelope.safeParse({ v: 3, id: 1, op: 'ping' }).success, true);
  assert.equal(RequestEnvelope.safeParse({ v: 3, id: -1, op: 'ping' }).success, false);
  assert.equal(RequestEnvelope.safeParse({ v: 3, id: 1, op: 'ping', extra: true }).success, false);
  const ok = decodeAgentMessage('{"v":3,"id":4,"ok":true,"result":{}}');
  assert.equal(ok.kind, 'response');
  const err = decodeAgentMessage('{"v":3,"id":null,"ok":false,"error":{"code":"INVALID_ARGUMENT","message":"m"}}');
  assert.ok(err.kind === 'response' && !err.response.ok && err.response.id === null);
  const out = decodeAgentMessage(JSON.stringify({ v: 3, event: 'stdout', containerId: 'c', execId: 'e', data: 'aGk=' }));
  assert.ok(out.kind === 'event' && out.event.event === 'stdout');
  const exit = decodeAgentMessage(JSON.stringify({ v: 3, event: 'exit', containerId: 'c', execId: 'e', exitCode: 0 }));
  assert.ok(exit.kind === 'event' && exit.event.event === 'exit');
  assert.throws(() => decodeAgentMessage(JSON.stringify({ v: 3, event: 'stdout', containerId: 'c', execId: 'e' })));
  assert.throws(() => decodeAgentMessage('{"v":3,"id":4,"ok":false,"error":{"code":"TEAPOT","message":""}}'));
});

test('recoverRequestId reads the id of an object or of the head of an oversize line', () => {
  assert.equal(recoverRequestId({ id: 7, op: 'nope' }), 7);
  assert.equal(recoverRequestId({ id: 'x' }), null);
  assert.equal(recoverRequestId('{"v":3,"id":12,"op":"writeStdin","args":{"data":"AAAA'), 12);
  assert.equal(recoverRequestId('{"id":5,'), 5);
  assert.equal(recoverRequestId('{"op":"x","args":{"id":5}'), null);
  assert.equal(recoverRequestId('garbage'), null);
});

test('freeze args: a lease between 100 ms and 5 minutes; the thaw result says whether the freeze held', () => {
  assert.equal(parseArgs('freezeFilesystem', { path: '/run/passvol/v/1', leaseMs: 60_000 }).leaseMs, 60_000);
  for (const leaseMs of [50, 300_001, 1.5]) assert.throws(() => parseArgs('freezeFilesystem', { path: '/run/passvol/v/1', leaseMs }), `lease ${leaseMs}`);
  assert.throws(() => parseArgs('freezeFilesystem', { path: '/run/passvol/v/1' }), 'a lease is required');
  assert.deepEqual(parseResult('thawFilesystem', { heldThroughout: false }), { heldThroughout: false });
  assert.throws(() => parseResult('thawFilesystem', {}));
});
