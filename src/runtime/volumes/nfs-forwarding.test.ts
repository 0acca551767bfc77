import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestNfsOptions, planForwards, splitNfsDevice } from './nfs-forwarding.js';

test('devices split into server and path; bad ones are refused', () => {
  assert.deepEqual(splitNfsDevice('127.0.0.1:/export/a'), { server: '127.0.0.1', path: '/export/a' });
  assert.deepEqual(splitNfsDevice('[fd00::5]:/x'), { server: 'fd00::5', path: '/x' });
  assert.throws(() => splitNfsDevice('/dev/loop1'), /not server:\/absolute\/path/);
  assert.throws(() => splitNfsDevice('nas:relative'), /not server/);
});

test('each distinct server gets its own guest address', () => {
  assert.deepEqual(planForwards(['a', 'b', 'a']), [
    { server: 'a', guestAddress: '10.0.2.100' },
    { server: 'b', guestAddress: '10.0.2.101' },
  ]);
});

test('guest options pin address, ports and TCP, keep the rest', () => {
  const fwd = { server: '127.0.0.1', guestAddress: '10.0.2.100' };
  assert.deepEqual(guestNfsOptions(['vers=3', 'nolock', 'proto=udp', 'hard', 'rw', 'nosuid', 'nodev'], 'nfs', fwd), [
    'vers=3', 'nolock', 'hard', 'rw', 'nosuid', 'nodev', 'addr=10.0.2.100', 'proto=tcp', 'port=2049', 'mountport=20048', 'mountproto=tcp',
  ]);
  assert.deepEqual(guestNfsOptions(['vers=4.1', 'noresvport', 'addr=1.2.3.4'], 'nfs4', fwd), ['vers=4.1', 'noresvport', 'addr=10.0.2.100', 'proto=tcp', 'port=2049', 'clientaddr=10.0.2.15']);
});
