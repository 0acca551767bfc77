// Which volumes pass through, decided from the pod (annotation, runtimeClassName) and the PVC, read from
// the API server, with the pod UID checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore } from '../../../src/directvolume/index.js';
import { startApiServer } from '../../helpers/api-server.js';
import { csiFixture, mountCap, provisionAndStage, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

const podInfo = (name: string, uid: string) => ({ 'csi.storage.k8s.io/pod.name': name, 'csi.storage.k8s.io/pod.namespace': 'apps', 'csi.storage.k8s.io/pod.uid': uid });

test('pod annotation, sandbox runtimeClassName and PVC annotation each pass a disk through; a UID mismatch does not', { skip: needsRoot }, async () => {
  const api = await startApiServer(mkdtempSync(join(tmpdir(), 'passvol-api-')), {
    pods: {
      'apps/annotated': { uid: 'u-1', annotations: { 'storage.alibabacloud.com/enable_ebs_passthrough': 'true' } },
      'apps/sandboxed': { uid: 'u-2', runtimeClassName: 'kata-qemu' },
      'apps/plain': { uid: 'u-3', runtimeClassName: 'runc' },
      'apps/impostor': { uid: 'u-real', runtimeClassName: 'kata' },
    },
    pvcs: { 'apps/claim-skip': { annotations: { 'skip-hostmount': 'true' } } },
  });
  const f = await csiFixture(['--kubeconfig', api.kubeconfig]);
  const records = new RecordStore(f.l.directVolumes);
  const outcome = async (name: string, pod: [string, string] | undefined, pvc?: string) => {
    const parameters: Record<string, string> = pvc ? { 'csi.storage.k8s.io/pvc/name': pvc, 'csi.storage.k8s.io/pvc/namespace': 'apps' } : {};
    const v = await provisionAndStage(f, name, { parameters, cap: mountCap() });
    const target = targetFor(f, pod?.[0] ?? 'none', name);
    await f.csi.node.NodePublishVolume!({
      volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap,
      volume_context: { ...v.volumeContext, ...(pod ? podInfo(pod[0], pod[1]) : {}) },
    });
    return (await records.find(target)) ? 'passthrough' : 'host';
  };
  assert.equal(await outcome('pv-annotated', ['annotated', 'u-1']), 'passthrough');
  assert.equal(await outcome('pv-sandboxed', ['sandboxed', 'u-2']), 'passthrough');
  assert.equal(await outcome('pv-plain', ['plain', 'u-3']), 'host');
  assert.equal(await outcome('pv-impostor', ['impostor', 'u-stale']), 'host');
  assert.equal(await outcome('pv-claim', undefined, 'claim-skip'), 'passthrough');
  const logs = f.driver.logs();
  assert.match(logs, /"reason":"pod annotation storage.alibabacloud.com\/enable_ebs_passthrough=true"/);
  assert.match(logs, /"reason":"pod runtimeClassName kata-qemu is a sandbox runtime"/);
  assert.match(logs, /has UID u-real, not u-stale/);
  assert.match(logs, /"reason":"PVC annotation skip-hostmount=true"/);
  assert.ok(api.requests.some((u) => u.startsWith('/api/v1/namespaces/apps/persistentvolumeclaims/claim-skip')));
});
