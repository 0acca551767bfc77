// The NAS driver on the host path, against the embedded NFS server: the export is mounted at the target,
// and a read-only publish never rewrites the shared export's groups and modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csiFixture, mountCap, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';
import { startTestNfsServer } from '../../helpers/nfs-server.js';

const mountLine = (path: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === path);

test('a read-only pod with an fsGroup on a shared export: mounted read-only from the start, no group or mode changed', { skip: needsRoot }, async (t) => {
  const nfs = await startTestNfsServer();
  const f = await csiFixture(['--nas-local-path', nfs.info.localPathMapping], 'nas');
  const parameters = { server: nfs.info.server, share: nfs.info.share, subDir: 'shared', nfsVersion: '3' };
  const created = (await f.csi.controller.CreateVolume!({ name: 'pv-nas-ro', capacity_range: { required_bytes: 2 ** 30 }, volume_capabilities: [mountCap('MULTI_NODE_MULTI_WRITER', '')], parameters })) as {
    volume: { volume_id: string; volume_context: Record<string, string> };
  };
  const folder = join(nfs.exportDir, 'shared');
  writeFileSync(join(folder, 'data.txt'), 'other pods write here', { mode: 0o640 });
  const before = (p: string) => ({ gid: statSync(p).gid, mode: statSync(p).mode & 0o7777 });
  const was = { root: before(folder), file: before(join(folder, 'data.txt')) };

  const target = targetFor(f, 'pod-ro', 'pv-nas-ro');
  const publish = () =>
    f.csi.node.NodePublishVolume!({
      volume_id: created.volume.volume_id,
      target_path: target,
      volume_capability: mountCap('MULTI_NODE_MULTI_WRITER', '', { volume_mount_group: '3470' }),
      volume_context: created.volume.volume_context,
      readonly: true,
    });
  try {
    await publish();
  } catch (e) {
    // The kernel's NFS client is a module some machines (and sandboxes) do not have.
    if (!/No such device|unknown filesystem type/.test(String(e))) throw e;
    t.skip('this kernel has no NFS client');
    return;
  }
  assert.match(mountLine(target) ?? '', /^\S+ \S+ nfs \S*\bro\b/, 'mounted read-only');
  assert.deepEqual({ root: before(folder), file: before(join(folder, 'data.txt')) }, was, 'the export keeps its groups and modes');
  assert.match(await f.driver.logsOnce(/fsGroup not applied/), /"fsGroup":"3470","msg":"fsGroup not applied: the volume is published read-only"/);

  // Repeated (kubelet retries, or after a restart): still read-only, still untouched.
  await publish();
  assert.match(mountLine(target) ?? '', /\bro\b/);
  assert.deepEqual({ root: before(folder), file: before(join(folder, 'data.txt')) }, was);
  await f.csi.node.NodeUnpublishVolume!({ volume_id: created.volume.volume_id, target_path: target });
});
