// Every malformed request gets the right gRPC code, a message that says what to change, and changes
// nothing on the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { GRPC, failsWith } from '../../helpers/csi-client.js';
import { MiB, csiFixture, mountCap, provisionAndStage, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';
import { snapshotTree } from '../../helpers/tree-snapshot.js';

const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8');

test('bad requests: right code, clear message, nothing changed', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-bad');
  const c = f.csi.controller;
  const n = f.csi.node;
  const before = { pool: await snapshotTree(f.l.pool), records: await snapshotTree(f.l.directVolumes), mounts: mounts() };
  const good = { volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: targetFor(f, 'p', 'bad'), volume_capability: v.cap, volume_context: v.volumeContext };
  const cases: [() => Promise<unknown>, number, RegExp][] = [
    [() => c.CreateVolume!({ name: '', volume_capabilities: [mountCap()] }), GRPC.INVALID_ARGUMENT, /name is required/],
    [() => c.CreateVolume!({ name: 'x', volume_capabilities: [] }), GRPC.INVALID_ARGUMENT, /at least one capability/],
    [() => c.CreateVolume!({ name: 'x', volume_capabilities: [mountCap('MULTI_NODE_MULTI_WRITER')] }), GRPC.INVALID_ARGUMENT, /MULTI_NODE_MULTI_WRITER is not supported; use one of SINGLE_NODE_WRITER/],
    [() => c.CreateVolume!({ name: 'x', volume_capabilities: [mountCap('SINGLE_NODE_WRITER', 'btrfs')] }), GRPC.INVALID_ARGUMENT, /fs_type "btrfs" is not supported; use one of ext4, xfs/],
    [() => c.CreateVolume!({ name: 'x', volume_capabilities: [mountCap()], parameters: { colour: 'blue' } }), GRPC.INVALID_ARGUMENT, /unknown key\(s\) colour \(known: fstype, mkfsOptions/],
    [() => c.CreateVolume!({ name: 'x', volume_capabilities: [mountCap()], capacity_range: { required_bytes: 10, limit_bytes: 5 } }), GRPC.INVALID_ARGUMENT, /exceeds limit_bytes/],
    [() => c.CreateVolume!({ name: 'pv-bad', volume_capabilities: [mountCap()], capacity_range: { required_bytes: 64 * 2 ** 20 } }), GRPC.ALREADY_EXISTS, /exists with/],
    // Same name and size, other parameters that shape the volume: not the same volume.
    [() => c.CreateVolume!({ name: 'pv-bad', volume_capabilities: [mountCap()], capacity_range: { required_bytes: 32 * MiB }, parameters: { mkfsOptions: '-O fast_commit' } }), GRPC.ALREADY_EXISTS, /exists with other parameters \(passvol.io\/mkfs-options="", not passvol.io\/mkfs-options="-O fast_commit"\)/],
    [() => c.CreateVolume!({ name: 'pv-bad', volume_capabilities: [mountCap()], capacity_range: { required_bytes: 32 * MiB }, parameters: { passthrough: 'true' } }), GRPC.ALREADY_EXISTS, /exists with other parameters .*passvol.io\/passthrough/],
    [() => c.CreateVolume!({ name: 'x', volume_capabilities: [mountCap()], parameters: { fstype: 'xfs', 'katacontainers.direct.volume/fstype': 'ext4' } }), GRPC.INVALID_ARGUMENT, /fstype xfs and katacontainers.direct.volume\/fstype ext4 disagree/],
    [() => c.DeleteVolume!({ volume_id: '' }), GRPC.INVALID_ARGUMENT, /volume_id is required/],
    [() => c.ControllerPublishVolume!({ volume_id: 'pvd-000000000000000000000000', node_id: 'node-1', volume_capability: mountCap() }), GRPC.NOT_FOUND, /does not exist/],
    [() => c.ControllerPublishVolume!({ volume_id: v.volumeId, node_id: 'node-9', volume_capability: mountCap() }), GRPC.NOT_FOUND, /node node-9 is not served/],
    [() => c.ControllerExpandVolume!({ volume_id: v.volumeId }), GRPC.INVALID_ARGUMENT, /capacity_range is required/],
    [() => c.ListVolumes!({ starting_token: 'bogus' }), GRPC.ABORTED, /starting_token "bogus"/],
    [() => n.NodePublishVolume!({ ...good, target_path: '/etc/evil' }), GRPC.INVALID_ARGUMENT, /outside the kubelet root/],
    [() => n.NodePublishVolume!({ ...good, target_path: `${f.l.kubelet}/pods/../../escape` }), GRPC.INVALID_ARGUMENT, /clean path/],
    [() => n.NodePublishVolume!({ ...good, target_path: 'relative/path' }), GRPC.INVALID_ARGUMENT, /must be an absolute path/],
    [() => n.NodePublishVolume!({ ...good, volume_capability: null }), GRPC.INVALID_ARGUMENT, /volume_capability is required/],
    [() => n.NodePublishVolume!({ ...good, staging_target_path: '' }), GRPC.INVALID_ARGUMENT, /staging_target_path is required/],
    [() => n.NodePublishVolume!({ ...good, publish_context: {} }), GRPC.INVALID_ARGUMENT, /publish_context has no devicePath/],
    // fsGroup is a decimal gid, refused before anything is mounted or recorded (host and passthrough paths).
    [() => n.NodePublishVolume!({ ...good, volume_capability: mountCap('SINGLE_NODE_WRITER', 'ext4', { volume_mount_group: 'wheel' }) }), GRPC.INVALID_ARGUMENT, /volume_capability.mount.volume_mount_group: must be a decimal group id from 0 to 4294967294 .*not "wheel"/],
    [() => n.NodePublishVolume!({ ...good, volume_context: { ...v.volumeContext, 'passvol.io/passthrough': 'true' }, volume_capability: mountCap('SINGLE_NODE_WRITER', 'ext4', { volume_mount_group: '4294967295' }) }), GRPC.INVALID_ARGUMENT, /volume_mount_group: must be a decimal group id/],
    [() => n.NodeStageVolume!({ ...good, volume_capability: mountCap('SINGLE_NODE_WRITER', 'ext4', { volume_mount_group: '-1' }) }), GRPC.INVALID_ARGUMENT, /volume_mount_group: must be a decimal group id/],
    [() => n.NodePublishVolume!({ ...good, publish_context: { devicePath: '/dev/null' } }), GRPC.NOT_FOUND, /not a block device/],
    [() => n.NodeStageVolume!({ ...good, staging_target_path: '/tmp/outside' }), GRPC.INVALID_ARGUMENT, /outside the kubelet root/],
    [() => n.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: '/' }), GRPC.INVALID_ARGUMENT, /outside the kubelet root/],
    [() => n.NodeGetVolumeStats!({ volume_id: 'pvd-000000000000000000000000', volume_path: v.staging }), GRPC.NOT_FOUND, /does not exist/],
    [() => c.CreateSnapshot!({ name: 's', source_volume_id: 'pvd-000000000000000000000000' }), GRPC.NOT_FOUND, /does not exist/],
  ];
  for (const [call, code, message] of cases) assert.match(await failsWith(call(), code), message);
  assert.deepEqual({ pool: await snapshotTree(f.l.pool), records: await snapshotTree(f.l.directVolumes), mounts: mounts() }, before);
});

test('a device that is no longer the volume (stale publish context) is refused, not formatted', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const a = await provisionAndStage(f, 'pv-stale-a');
  const b = await provisionAndStage(f, 'pv-stale-b');
  const msg = await failsWith(
    f.csi.node.NodeStageVolume!({ volume_id: a.volumeId, publish_context: b.publishContext, staging_target_path: `${a.staging}-2`, volume_capability: a.cap, volume_context: a.volumeContext }),
    GRPC.FAILED_PRECONDITION,
  );
  assert.match(msg, /no longer volume .*publish the volume to this node again/);
});

test('a second call on a volume in flight answers ABORTED at once', { skip: needsRoot }, async () => {
  const f = await csiFixture(['--metrics-address', '127.0.0.1:19873']);
  const cap = mountCap('SINGLE_NODE_WRITER', 'xfs');
  const inflight = async () => /passvol_csi_inflight_operations\{[^}]*method="NodeStageVolume"\} 1/.test(await (await fetch('http://127.0.0.1:19873/metrics')).text());
  // The second call goes out only once the driver reports the first one in flight (formatting 1 GiB of
  // xfs); should the first finish before that is seen, the attempt is repeated on a fresh volume.
  for (let attempt = 0; attempt < 5; attempt++) {
    const created = (await f.csi.controller.CreateVolume!({ name: `pv-lock-${attempt}`, capacity_range: { required_bytes: 2 ** 30 }, volume_capabilities: [cap] })) as { volume: { volume_id: string } };
    const id = created.volume.volume_id;
    const pub = (await f.csi.controller.ControllerPublishVolume!({ volume_id: id, node_id: 'node-1', volume_capability: cap })) as { publish_context: object };
    const stage = (p: string) => f.csi.node.NodeStageVolume!({ volume_id: id, publish_context: pub.publish_context, staging_target_path: `${f.l.kubelet}/staging/${attempt}-${p}`, volume_capability: cap });
    let firstDone = false;
    const first = stage('a').finally(() => (firstDone = true));
    while (!firstDone && !(await inflight())) await new Promise((r) => setTimeout(r, 2));
    if (firstDone) {
      await first;
      continue;
    }
    const second = await stage('b').then(() => undefined, (e: { code: number; details: string }) => e);
    await first;
    assert.ok(second, 'the second call was not refused');
    assert.equal(second.code, GRPC.ABORTED);
    assert.match(second.details, /already in progress; retry/);
    return;
  }
  assert.fail('the first call never stayed in flight long enough to be seen');
});

test('a disk holding a partition table but no filesystem is not formatted', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const cap = mountCap();
  const created = (await f.csi.controller.CreateVolume!({ name: 'pv-parts', capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [cap] })) as { volume: { volume_id: string; volume_context: Record<string, string> } };
  const id = created.volume.volume_id;
  const pub = (await f.csi.controller.ControllerPublishVolume!({ volume_id: id, node_id: 'node-1', volume_capability: cap })) as { publish_context: { devicePath: string } };
  // An MBR with one Linux partition: blkid finds no filesystem on the whole disk, only the table.
  const mbr = Buffer.alloc(512);
  mbr.set([0x00, 0, 0, 0, 0x83, 0, 0, 0], 446);
  mbr.writeUInt32LE(2048, 446 + 8);
  mbr.writeUInt32LE(4096, 446 + 12);
  mbr.set([0x55, 0xaa], 510);
  const fd = openSync(pub.publish_context.devicePath, 'r+');
  writeSync(fd, mbr, 0, 512, 0);
  fsyncSync(fd);
  closeSync(fd);
  const msg = await failsWith(
    f.csi.node.NodeStageVolume!({ volume_id: id, publish_context: pub.publish_context, staging_target_path: `${f.l.kubelet}/staging/parts`, volume_capability: cap, volume_context: created.volume.volume_context }),
    GRPC.FAILED_PRECONDITION,
  );
  assert.match(msg, /holds a dos partition table .* not formatted/);
  const after = Buffer.alloc(512);
  const rd = openSync(pub.publish_context.devicePath, 'r');
  readSync(rd, after, 0, 512, 0);
  closeSync(rd);
  assert.deepEqual(after, mbr, 'the partition table is untouched');
});
