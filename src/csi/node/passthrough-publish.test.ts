import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeVolumeSource } from '../backends/backend.js';
import type { VolumeAccess } from '../capabilities.js';
import type { DriverConfig } from '../driver-config.js';
import { mountInfoFor, type PassthroughPublish } from './passthrough-publish.js';

const ctx = { config: { driverName: 'disk.csi.passvol.io', diskVolumeType: 'directvol' } as DriverConfig };
const access = (volumeMountGroup: string): VolumeAccess => ({ kind: 'mount', fsType: 'ext4', mountFlags: [], volumeMountGroup, mode: 'SINGLE_NODE_WRITER' });
const disk: NodeVolumeSource = { kind: 'block', devicePath: '/dev/loop3' };
const nfs: NodeVolumeSource = { kind: 'nfs', server: '10.0.0.5', exportPath: '/exports/a', fstype: 'nfs4', mountOptions: [] };
const publish = (source: NodeVolumeSource, group: string, policy?: 'OnRootMismatch'): PassthroughPublish => ({
  volumeId: 'v-1', targetPath: '/k/pods/p/volumes/v/mount', stagingPath: undefined, access: access(group), readonly: false, source, ...(policy ? { fsGroupChangePolicy: policy } : {}),
});

test('fsGroupChangePolicy goes into the record next to fsGroup, for disks only: the guest walks no NFS mount', () => {
  const meta = (p: PassthroughPublish) => mountInfoFor(ctx, p).metadata;
  assert.deepEqual(meta(publish(disk, '2000', 'OnRootMismatch')), { volumeId: 'v-1', csiDriver: 'disk.csi.passvol.io', fsGroup: '2000', fsGroupChangePolicy: 'OnRootMismatch' });
  assert.deepEqual(meta(publish(disk, '', 'OnRootMismatch')), { volumeId: 'v-1', csiDriver: 'disk.csi.passvol.io' }, 'no fsGroup: nothing to walk');
  assert.deepEqual(meta(publish(disk, '2000')), { volumeId: 'v-1', csiDriver: 'disk.csi.passvol.io', fsGroup: '2000' });
  assert.deepEqual(meta(publish(nfs, '2000', 'OnRootMismatch')), { volumeId: 'v-1', csiDriver: 'disk.csi.passvol.io', fsGroup: '2000' });
});
