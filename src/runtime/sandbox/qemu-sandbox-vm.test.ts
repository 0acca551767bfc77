import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleGroupsFor } from './qemu-sandbox-vm.js';

const forward = { server: '10.0.0.5', guestAddress: '10.0.2.100', hostAddress: '127.0.0.1', clientAddress: '10.0.2.15' };

test('the guest loads first the shares the sandbox uses, then NFS when it has NAS volumes, then its disks\' filesystems', () => {
  assert.deepEqual(moduleGroupsFor('virtiofs', { nfsForwards: [] }), ['virtiofs']);
  assert.deepEqual(moduleGroupsFor('9p', { nfsForwards: [forward] }), ['9p', 'nfs']);
  assert.deepEqual(moduleGroupsFor('virtiofs', { nfsForwards: [forward], volumeModules: ['xfs', 'nfs'] }), ['virtiofs', 'nfs', 'xfs']);
});
