// The NAS driver on the embedded NFS server: a folder per volume, and on the passthrough path a record with
// the export for the guest to mount, and no host mount at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RecordStore } from '../../../src/directvolume/index.js';
import { GRPC, failsWith } from '../../helpers/csi-client.js';
import { csiFixture, mountCap, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';
import { startTestNfsServer } from '../../helpers/nfs-server.js';

test('NAS passthrough: folder created, nfs record written, nothing mounted, folder removed on delete', { skip: needsRoot }, async () => {
  const nfs = await startTestNfsServer();
  const f = await csiFixture(['--nas-local-path', nfs.info.localPathMapping], 'nas');
  const parameters = { server: nfs.info.server, share: nfs.info.share, subDir: '${pvc.metadata.namespace}-${pvc.metadata.name}', passthrough: 'true', nfsVersion: '3', 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/pvc/namespace': 'shop' };
  const cap = mountCap('MULTI_NODE_MULTI_WRITER', '');
  const created = (await f.csi.controller.CreateVolume!({ name: 'pv-nas-1', capacity_range: { required_bytes: 2 ** 30 }, volume_capabilities: [cap], parameters })) as { volume: { volume_id: string; volume_context: Record<string, string> } };
  const { volume_id: id, volume_context: context } = created.volume;
  assert.ok(statSync(join(nfs.exportDir, 'shop-data')).isDirectory());

  const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8');
  const targets = [targetFor(f, 'pod-1', 'pv-nas-1'), targetFor(f, 'pod-2', 'pv-nas-1')];
  for (const t of targets) await f.csi.node.NodePublishVolume!({ volume_id: id, target_path: t, volume_capability: cap, volume_context: context, readonly: t.includes('pod-2') });
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore, 'no host mount');
  const store = new RecordStore(f.l.directVolumes);
  const rw = await store.get(targets[0]!);
  assert.equal(rw.mountInfo['volume-type'], 'nfs');
  assert.equal(rw.mountInfo.device, '127.0.0.1:/export/shop-data');
  assert.equal(rw.mountInfo.fstype, 'nfs');
  assert.deepEqual(rw.mountInfo.options, ['vers=3', 'nolock', 'proto=tcp', 'rsize=1048576', 'wsize=1048576', 'hard', 'timeo=600', 'retrans=2', 'noresvport', 'rw', 'nosuid', 'nodev']);
  assert.ok((await store.get(targets[1]!)).mountInfo.options?.includes('ro'), 'a read-only publish says ro');

  const stats = (await f.csi.node.NodeGetVolumeStats!({ volume_id: id, volume_path: targets[0] })) as { usage: { total: number }[]; volume_condition: { message: string } };
  assert.ok(stats.usage[0]!.total > 0);
  assert.match(stats.volume_condition.message, /no sandbox has mounted it yet/);

  assert.match(await failsWith(f.csi.controller.CreateVolume!({ name: 'pv-nas-other', volume_capabilities: [cap], parameters }), GRPC.ALREADY_EXISTS), /already belongs to volume "pv-nas-1"/);

  for (const t of targets) await f.csi.node.NodeUnpublishVolume!({ volume_id: id, target_path: t });
  assert.deepEqual(await store.list(), []);
  await f.csi.controller.DeleteVolume!({ volume_id: id });
  assert.equal(existsSync(join(nfs.exportDir, 'shop-data')), false);
});
