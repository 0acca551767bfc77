import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestNetwork } from '../../protocol/index.js';
import { guestNfsOptions, planForwards, splitNfsDevice } from './nfs-forwarding.js';

test('devices split into server and path; bad ones are refused', () => {
  assert.deepEqual(splitNfsDevice('127.0.0.1:/export/a'), { server: '127.0.0.1', path: '/export/a' });
  assert.deepEqual(splitNfsDevice('[fd00::5]:/x'), { server: 'fd00::5', path: '/x' });
  assert.throws(() => splitNfsDevice('/dev/loop1'), /not server:\/absolute\/path/);
  assert.throws(() => splitNfsDevice('nas:relative'), /not server/);
});

test('each distinct server gets its own guest address; names resolve on the host, IPv6 is refused', async () => {
  const resolve = async (name: string) => ({ nas: '10.1.2.3', other: '10.1.2.4' })[name] ?? Promise.reject(new Error('ENOTFOUND'));
  assert.deepEqual(await planForwards(['nas', '127.0.0.1', 'nas'], resolve), [
    { server: 'nas', hostAddress: '10.1.2.3', guestAddress: '10.0.2.100', clientAddress: '10.0.2.15' },
    { server: '127.0.0.1', hostAddress: '127.0.0.1', guestAddress: '10.0.2.101', clientAddress: '10.0.2.15' },
  ]);
  // An added container's servers go on a network of their own.
  assert.deepEqual(await planForwards(['other'], resolve, guestNetwork(1)), [{ server: 'other', hostAddress: '10.1.2.4', guestAddress: '10.0.3.100', clientAddress: '10.0.3.15' }]);
  await assert.rejects(planForwards(Array.from({ length: 51 }, (_, i) => `10.9.0.${i}`), resolve), /at most 50 NFS servers/);
  await assert.rejects(planForwards(['fd00::5'], resolve), /IPv6 address; the sandbox's NFS forward reaches IPv4 servers only/);
  await assert.rejects(planForwards(['missing'], resolve), /does not resolve to an IPv4 address on this host: ENOTFOUND/);
});

test('guest options pin address, ports and TCP, keep the rest', () => {
  const fwd = { server: '127.0.0.1', hostAddress: '127.0.0.1', guestAddress: '10.0.2.100', clientAddress: '10.0.2.15' };
  assert.deepEqual(guestNfsOptions(['vers=3', 'nolock', 'proto=udp', 'hard', 'rw', 'nosuid', 'nodev'], 'nfs', fwd), [
    'vers=3', 'nolock', 'hard', 'rw', 'nosuid', 'nodev', 'addr=10.0.2.100', 'proto=tcp', 'port=2049', 'mountport=20048', 'mountproto=tcp',
  ]);
  assert.deepEqual(guestNfsOptions(['vers=4.1', 'noresvport', 'addr=1.2.3.4'], 'nfs4', fwd), ['vers=4.1', 'noresvport', 'addr=10.0.2.100', 'proto=tcp', 'port=2049', 'clientaddr=10.0.2.15']);
  // NFSv4 names the guest's address on the forward's own network.
  const later = { server: 'nas2', hostAddress: '10.1.2.4', guestAddress: '10.0.4.100', clientAddress: '10.0.4.15' };
  assert.deepEqual(guestNfsOptions(['vers=4.1'], 'nfs4', later), ['vers=4.1', 'addr=10.0.4.100', 'proto=tcp', 'port=2049', 'clientaddr=10.0.4.15']);
});
