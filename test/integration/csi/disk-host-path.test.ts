// The ordinary host path: stage mounts, publish bind-mounts (read-only when asked), data survives
// unpublish/unstage/restage, and an existing filesystem is never formatted again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRPC, failsWith } from '../../helpers/csi-client.js';
import { blockCap, csiFixture, mountCap, provisionAndStage, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

const mountLine = (path: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === path);
const uuidOf = (dev: string) => execFileSync('blkid', ['-p', '-s', 'UUID', '-o', 'value', dev], { encoding: 'utf8' }).trim();

test('stage, publish, write, unpublish, unstage, restage: same filesystem, data kept', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-host-1');
  assert.match(mountLine(v.staging) ?? '', / ext4 /);
  const uuid = uuidOf(v.device);
  const target = targetFor(f, 'pod-1', 'pv-host-1');
  const publish = (t: string, readonly = false) =>
    f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: t, volume_capability: v.cap, volume_context: v.volumeContext, readonly });
  await publish(target);
  await publish(target);
  writeFileSync(join(target, 'data.txt'), 'kept');
  const ro = targetFor(f, 'pod-2', 'pv-host-1');
  await publish(ro, true);
  assert.match(mountLine(ro) ?? '', /\bro\b/);
  assert.throws(() => writeFileSync(join(ro, 'x'), 'no'), /EROFS/);

  for (const t of [target, ro]) await f.csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: t });
  await f.csi.node.NodeUnstageVolume!({ volume_id: v.volumeId, staging_target_path: v.staging });
  await f.csi.node.NodeUnstageVolume!({ volume_id: v.volumeId, staging_target_path: v.staging });
  assert.equal(mountLine(v.staging), undefined);

  await f.csi.node.NodeStageVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, volume_capability: v.cap, volume_context: v.volumeContext });
  assert.equal(uuidOf(v.device), uuid, 'not reformatted');
  await publish(target);
  assert.equal(readFileSync(join(target, 'data.txt'), 'utf8'), 'kept');
});

test('fsGroup (volume_mount_group) is applied on the host path as Kubernetes does', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const cap = mountCap('SINGLE_NODE_WRITER', 'ext4', { volume_mount_group: '3456' });
  const v = await provisionAndStage(f, 'pv-host-fsgroup', { cap });
  const target = targetFor(f, 'pod-g', 'pv-host-fsgroup');
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: cap, volume_context: v.volumeContext });
  const st = statSync(target);
  assert.equal(st.gid, 3456);
  assert.equal(st.mode & 0o2070, 0o2070, 'group rwx and setgid on the root');
});

test('raw block: the device node is bound onto the target file; ReadWriteOncePod refuses a second target', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const cap = blockCap('SINGLE_NODE_SINGLE_WRITER');
  const v = await provisionAndStage(f, 'pv-block-1', { cap });
  const target = join(f.l.kubelet, 'plugins/kubernetes.io/csi/volumeDevices/publish/pv-block-1/pod-1');
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: cap, volume_context: v.volumeContext });
  assert.ok(statSync(target).isBlockDevice());
  const second = join(f.l.kubelet, 'plugins/kubernetes.io/csi/volumeDevices/publish/pv-block-1/pod-2');
  const msg = await failsWith(
    f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: second, volume_capability: cap, volume_context: v.volumeContext }),
    GRPC.FAILED_PRECONDITION,
  );
  assert.match(msg, /ReadWriteOncePod.*pod-1/);
  const stats = (await f.csi.node.NodeGetVolumeStats!({ volume_id: v.volumeId, volume_path: target })) as { usage: { total: number }[] };
  assert.equal(stats.usage[0]!.total, 32 * 2 ** 20);
});

// ext4 online resize needs CAP_SYS_RESOURCE; some sandboxes (this one) drop it even for root.
const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
const noSysResource = (capEff >> 24n) & 1n ? false : 'ext4 online resize needs CAP_SYS_RESOURCE, which this machine withholds from root';

for (const [fstype, skip, mib] of [['xfs', needsRoot, 320], ['ext4', needsRoot || noSysResource, 32]] as const) {
test(`online expansion on the host path grows the mounted ${fstype} filesystem`, { skip }, async () => {
  const f = await csiFixture();
  const cap = mountCap('SINGLE_NODE_WRITER', fstype);
  const v = await provisionAndStage(f, `pv-host-grow-${fstype}`, { cap, bytes: mib * 2 ** 20 });
  const target = targetFor(f, 'pod-e', `pv-host-grow-${fstype}`);
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: cap, volume_context: v.volumeContext });
  const before = (await f.csi.node.NodeGetVolumeStats!({ volume_id: v.volumeId, volume_path: target })) as { usage: { total: number }[] };
  const bigger = 3 * mib * 2 ** 20;
  await f.csi.controller.ControllerExpandVolume!({ volume_id: v.volumeId, capacity_range: { required_bytes: bigger } });
  const r = (await f.csi.node.NodeExpandVolume!({ volume_id: v.volumeId, volume_path: target, staging_target_path: v.staging, capacity_range: { required_bytes: bigger } })) as { capacity_bytes: number };
  assert.equal(r.capacity_bytes, bigger);
  const after = (await f.csi.node.NodeGetVolumeStats!({ volume_id: v.volumeId, volume_path: target })) as { usage: { total: number }[] };
  assert.ok(after.usage[0]!.total > before.usage[0]!.total * 2.5, `${before.usage[0]!.total} -> ${after.usage[0]!.total}`);
});
}

test('a read-only publish with fsGroup: mounted read-only, and the group is not applied, as kubelet does for a read-only volume', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const cap = mountCap('SINGLE_NODE_WRITER', 'ext4', { volume_mount_group: '3457' });
  const v = await provisionAndStage(f, 'pv-ro-fsgroup', { cap });
  writeFileSync(join(v.staging, 'old.txt'), 'x', { mode: 0o600 });
  chmodSync(v.staging, 0o755);
  const target = targetFor(f, 'pod-ro', 'pv-ro-fsgroup');
  const publish = () => f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: cap, volume_context: v.volumeContext, readonly: true });
  await publish();
  assert.match(mountLine(target) ?? '', /\bro\b/);
  const untouched = () => {
    assert.equal(statSync(target).gid, 0);
    assert.equal(statSync(target).mode & 0o7777, 0o755);
    assert.equal(statSync(join(target, 'old.txt')).gid, 0);
    assert.equal(statSync(join(target, 'old.txt')).mode & 0o7777, 0o600);
  };
  untouched();
  assert.match(await f.driver.logsOnce(/fsGroup not applied/), /"fsGroup":"3457","msg":"fsGroup not applied: the volume is published read-only"/);
  await publish();
  untouched();
});

test('a publish cut short by a crash is finished when repeated: read-only, or fsGroup on a read-write one, never trusted from the mount point alone', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const cap = mountCap('SINGLE_NODE_WRITER', 'ext4', { volume_mount_group: '3458' });
  const v = await provisionAndStage(f, 'pv-crash-ro', { cap });
  const publish = (t: string, readonly: boolean) =>
    f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: t, volume_capability: cap, volume_context: v.volumeContext, readonly });
  const bind = (t: string, ro: boolean) => {
    mkdirSync(t, { recursive: true });
    execFileSync('mount', ['--bind', v.staging, t]);
    if (ro) execFileSync('mount', ['-o', 'remount,bind,ro', t]);
  };
  // Killed between `mount --bind` and the read-only remount: the repeat makes it read-only, and applies no fsGroup.
  const a = targetFor(f, 'pod-a', 'pv-crash-ro');
  bind(a, false);
  await publish(a, true);
  assert.match(mountLine(a) ?? '', /\bro\b/, 'made read-only');
  assert.throws(() => writeFileSync(join(a, 'x'), 'no'), /EROFS/);
  assert.equal(statSync(a).gid, 0, 'no fsGroup on a read-only publish');

  // Killed after the bind of a read-write publish, before its fsGroup: the repeat applies it.
  const b = targetFor(f, 'pod-b', 'pv-crash-ro');
  bind(b, false);
  await publish(b, false);
  assert.equal(statSync(b).gid, 3458);
  assert.equal(statSync(b).mode & 0o2070, 0o2070);

  // A read-only target cannot answer a read-write publish.
  const c = targetFor(f, 'pod-c', 'pv-crash-ro');
  bind(c, true);
  assert.match(await failsWith(publish(c, false), GRPC.FAILED_PRECONDITION), /already mounted read-only, but this publish asks for read-write; unpublish it/);
});
