// The passthrough path end to end against the real driver: the disk is formatted but never left mounted on
// the host, the record is what Kata reads, and the rules for one sandbox per disk hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RecordStore, encodeVolumeDirName } from '../../../src/directvolume/index.js';
import { GRPC, failsWith } from '../../helpers/csi-client.js';
import { csiFixture, mountCap, provisionAndStage, targetFor, type CsiFixture } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';
import { startUnixHttpServer } from '../../helpers/unix-http-server.js';

const mounted = (device: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.startsWith(`${device} `));

test('StorageClass passthrough: formatted, not mounted on the host, Kata record written', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  // The capability names no fs_type (no csi.storage.k8s.io/fstype, no --default-fstype): the parameter decides.
  const v = await provisionAndStage(f, 'pv-pass-1', { parameters: { passthrough: 'true', fstype: 'xfs' }, cap: mountCap('SINGLE_NODE_WRITER', '', { volume_mount_group: '2000' }) });
  assert.equal(v.volumeContext['passvol.io/passthrough'], 'true');
  assert.equal(execFileSync('blkid', ['-p', '-s', 'TYPE', '-o', 'value', v.device], { encoding: 'utf8' }).trim(), 'xfs', 'formatted at stage');
  assert.equal(mounted(v.device), false, 'not mounted after stage');

  const target = targetFor(f, 'pod-a', 'pv-pass-1');
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext });
  assert.equal(mounted(v.device), false, 'never mounted on the host');
  assert.ok(statSync(target).isDirectory(), 'target exists for the OCI bind source');
  const file = join(f.l.directVolumes, encodeVolumeDirName(target), 'mountInfo.json');
  const info = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(info, {
    'volume-type': 'directvol',
    device: v.device,
    fstype: 'xfs',
    metadata: { csiDriver: 'disk.csi.passvol.io', fsGroup: '2000', volumeId: v.volumeId },
    options: ['rw', 'nosuid', 'nodev'],
  });
  assert.equal(statSync(file).mode & 0o777, 0o600);

  // Idempotent publish; a second target is refused.
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext });
  const msg = await failsWith(
    f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: targetFor(f, 'pod-b', 'pv-pass-1'), volume_capability: v.cap, volume_context: v.volumeContext }),
    GRPC.FAILED_PRECONDITION,
  );
  assert.match(msg, /already passed through at .*pod-a/);

  // Unpublish removes the record and the target; the data stays.
  await f.csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: target });
  await f.csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: target });
  assert.equal(existsSync(file), false);
  assert.equal(existsSync(target), false);
  await f.csi.node.NodeUnstageVolume!({ volume_id: v.volumeId, staging_target_path: v.staging });
  assert.equal(execFileSync('blkid', ['-p', '-s', 'TYPE', '-o', 'value', v.device], { encoding: 'utf8' }).trim(), 'xfs');
});

test('a multi-writer access mode is refused for passthrough, saying which modes work', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const cap = mountCap('SINGLE_NODE_MULTI_WRITER');
  const v = await provisionAndStage(f, 'pv-pass-multi', { parameters: { passthrough: 'true' }, cap });
  const msg = await failsWith(
    f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: targetFor(f, 'p', 'm'), volume_capability: cap, volume_context: v.volumeContext }),
    GRPC.FAILED_PRECONDITION,
  );
  assert.match(msg, /SINGLE_NODE_MULTI_WRITER cannot be passed through.*SINGLE_NODE_WRITER/);
  assert.deepEqual(await new RecordStore(f.l.directVolumes).list(), []);
});

test('a disk staged on the host is unmounted there before it is passed through', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-hostfirst');
  assert.equal(mounted(v.device), true, 'host path staged it');
  const context = { ...v.volumeContext, 'passvol.io/passthrough': 'true' };
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: targetFor(f, 'p', 'h'), volume_capability: v.cap, volume_context: context });
  assert.equal(mounted(v.device), false);
});

test('stats and expansion of a passed-through volume go to the sandbox monitor socket', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-pass-stats', { parameters: { passthrough: 'true' } });
  const target = targetFor(f, 'pod-s', 'pv-pass-stats');
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext });

  // Before a sandbox mounts it: usage from the superblock of the unmounted filesystem.
  const before = (await f.csi.node.NodeGetVolumeStats!({ volume_id: v.volumeId, volume_path: target })) as { usage: { total: number; unit: string }[]; volume_condition: { message: string } };
  assert.match(before.volume_condition.message, /no sandbox has mounted it yet/);
  assert.ok(before.usage[0]!.total > 20 * 2 ** 20 && before.usage[0]!.total <= 32 * 2 ** 20, `superblock total ${before.usage[0]!.total}`);

  // A sandbox takes the volume: stats and resize go to its monitor socket.
  await new RecordStore(f.l.directVolumes).recordSandbox(target, 'sandbox-9');
  const srv = await startUnixHttpServer(join(f.l.goShims, 'sandbox-9', 'shim-monitor.sock'), (r, res) =>
    res.end(r.method === 'GET' ? '{"usage":[{"available":100,"total":1000,"used":900,"unit":1},{"available":5,"total":10,"used":5,"unit":2}],"volume_condition":{"message":"OK"}}' : ''),
  );
  try {
    const stats = (await f.csi.node.NodeGetVolumeStats!({ volume_id: v.volumeId, volume_path: target })) as { usage: { total: number; used: number; unit: string }[]; volume_condition: { message: string } };
    assert.deepEqual(stats.usage.map((u) => [u.unit, u.total, u.used]), [['BYTES', 1000, 900], ['INODES', 10, 5]]);
    assert.match(stats.volume_condition.message, /sandbox sandbox-9: OK/);

    const grown = (await f.csi.controller.ControllerExpandVolume!({ volume_id: v.volumeId, capacity_range: { required_bytes: 64 * 2 ** 20 } })) as { capacity_bytes: number; node_expansion_required: boolean };
    assert.equal(grown.capacity_bytes, 64 * 2 ** 20);
    const node = (await f.csi.node.NodeExpandVolume!({ volume_id: v.volumeId, volume_path: target, capacity_range: { required_bytes: 64 * 2 ** 20 } })) as { capacity_bytes: number };
    assert.equal(node.capacity_bytes, 64 * 2 ** 20, 'the loop device sees the new size');
    const post = srv.seen.find((r) => r.method === 'POST');
    assert.deepEqual(JSON.parse(post?.body ?? '{}'), { VolumePath: v.device, Size: 64 * 2 ** 20 });
  } finally {
    await srv.close();
  }
});

test('one disk, two pods on the node: never mounted on the host and in a sandbox at once, in either order', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-mixed', { parameters: { passthrough: 'true' } });
  const hostContext = { ...v.volumeContext, 'passvol.io/passthrough': 'false' };
  const publish = (pod: string, volume_context: Record<string, string>) =>
    f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: targetFor(f, pod, 'pv-mixed'), volume_capability: v.cap, volume_context });
  // A sandbox has it: a runc pod on the same node is refused, and nothing gets mounted.
  await publish('kata-pod', v.volumeContext);
  assert.match(await failsWith(publish('runc-pod', hostContext), GRPC.FAILED_PRECONDITION), /passed through to a sandbox at .*kata-pod.*unpublish it there first/);
  assert.equal(mounted(v.device), false);
  await f.csi.node.NodeUnpublishVolume!({ volume_id: v.volumeId, target_path: targetFor(f, 'kata-pod', 'pv-mixed') });
  // The host has it: a sandbox pod is refused, and the host pod keeps its mount.
  await publish('runc-pod', hostContext);
  assert.match(await failsWith(publish('kata-pod-2', v.volumeContext), GRPC.FAILED_PRECONDITION), /mounted on the host at .*runc-pod/);
  assert.equal(mounted(v.device), true, 'the host pod still has its volume');
  assert.deepEqual(await new RecordStore(f.l.directVolumes).list(), []);
});

test('NodeExpandVolume of a disk the controller did not grow says so instead of reporting a grow', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const v = await provisionAndStage(f, 'pv-nogrow', { parameters: { passthrough: 'true' } });
  const target = targetFor(f, 'pod-g', 'pv-nogrow');
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: v.volumeContext });
  const msg = await failsWith(f.csi.node.NodeExpandVolume!({ volume_id: v.volumeId, volume_path: target, capacity_range: { required_bytes: 2 ** 30 } }), GRPC.FAILED_PRECONDITION);
  assert.match(msg, /less than the 1073741824 asked: ControllerExpandVolume must grow the disk first/);
});

const blkid = (dev: string) => execFileSync('blkid', ['-p', '-s', 'TYPE', '-o', 'value', dev], { encoding: 'utf8' }).trim();

/** A StorageClass with `fstype: xfs`, created and attached but not staged: its disk can be formatted first. */
async function attachedXfsVolume(f: CsiFixture, name: string, parameters: Record<string, string> = {}) {
  const created = (await f.csi.controller.CreateVolume!({ name, capacity_range: { required_bytes: 320 * 2 ** 20 }, volume_capabilities: [mountCap('SINGLE_NODE_WRITER', '')], parameters: { fstype: 'xfs', ...parameters } })) as {
    volume: { volume_id: string; volume_context: Record<string, string> };
  };
  const id = created.volume.volume_id;
  const pub = (await f.csi.controller.ControllerPublishVolume!({ volume_id: id, node_id: 'node-1', volume_capability: mountCap() })) as { publish_context: Record<string, string> };
  const staging = join(f.l.kubelet, 'plugins/kubernetes.io/csi/staging', name);
  const request = (fsType: string) => ({ volume_id: id, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: mountCap('SINGLE_NODE_WRITER', fsType), volume_context: created.volume.volume_context });
  const stage = (fsType: string) => f.csi.node.NodeStageVolume!(request(fsType));
  const publish = (fsType: string, target: string) => f.csi.node.NodePublishVolume!({ ...request(fsType), target_path: target });
  return { stage, publish, staging, device: pub.publish_context.devicePath as string };
}

test('the StorageClass fstype against the capability\'s fs_type: a blank disk is not formatted with either, one formatted already is used', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const prepare = (name: string) => attachedXfsVolume(f, name);
  const blank = await prepare('pv-fs-conflict');
  const msg = await failsWith(blank.stage('ext4'), GRPC.FAILED_PRECONDITION);
  assert.match(msg, /capability asks for fs_type ext4 but the StorageClass parameter fstype is xfs/);
  assert.throws(() => blkid(blank.device), 'left unformatted');
  await blank.stage('xfs');
  assert.equal(blkid(blank.device), 'xfs');

  // Formatted ext4 by a version that let the capability win: it stays ext4 and stages.
  const old = await prepare('pv-fs-old');
  execFileSync('mkfs.ext4', ['-q', old.device]);
  await old.stage('ext4');
  assert.equal(mounted(old.device), true);
  assert.match(await f.driver.logsOnce(/disk already holds the capability/), /the volume capability and the StorageClass fstype disagree/);
});

test('fstype: xfs on a disk an older version formatted ext4 (it ignored the parameter), capability naming none: the disk\'s ext4 is used on both paths', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  // Host path: staged and mounted as the ext4 it holds, not refused as "not xfs".
  const host = await attachedXfsVolume(f, 'pv-fs-legacy-host');
  execFileSync('mkfs.ext4', ['-q', host.device]);
  await host.stage('');
  assert.match(readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === host.staging) ?? '', / ext4 /);
  assert.match(await f.driver.logsOnce(/disk already holds ext4/), /"onDisk":"ext4","asked":"xfs","parameter":"xfs".*"msg":"the disk already holds ext4, not the xfs the StorageClass fstype/);
  await host.publish('', targetFor(f, 'pod-h', 'pv-fs-legacy-host'));
  assert.equal(blkid(host.device), 'ext4', 'never reformatted');

  // Passthrough: the record tells the guest ext4.
  const pass = await attachedXfsVolume(f, 'pv-fs-legacy-pass', { passthrough: 'true' });
  execFileSync('mkfs.ext4', ['-q', pass.device]);
  await pass.stage('');
  const target = targetFor(f, 'pod-p', 'pv-fs-legacy-pass');
  await pass.publish('', target);
  const info = JSON.parse(readFileSync(join(f.l.directVolumes, encodeVolumeDirName(target), 'mountInfo.json'), 'utf8'));
  assert.equal(info.fstype, 'ext4');
  assert.equal(blkid(pass.device), 'ext4');

  // A capability that names xfs itself still meets the never-reformat rule.
  const named = await attachedXfsVolume(f, 'pv-fs-legacy-named');
  execFileSync('mkfs.ext4', ['-q', named.device]);
  assert.match(await failsWith(named.stage('xfs'), GRPC.FAILED_PRECONDITION), /already holds a ext4 filesystem, not xfs; it is not reformatted/);
  assert.equal(blkid(named.device), 'ext4');
});
