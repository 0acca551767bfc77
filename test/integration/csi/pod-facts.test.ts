// Which volumes pass through, decided from the pod (annotation, runtimeClassName) and the PVC, read from
// the API server, with the pod UID checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { RecordStore } from '../../../src/directvolume/index.js';
import { startApiServer } from '../../helpers/api-server.js';
import { failsWith } from '../../helpers/csi-client.js';
import { csiFixture, mountCap, provisionAndStage, targetFor } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

const UNAVAILABLE = 14;
const mounted = (device: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.startsWith(`${device} `));
const isMountPoint = (path: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path);

/** An API server whose pod answers the test chooses (status and body), for the failures the helper's does not make. */
async function startScriptedApiServer(answer: (pod: string) => { status: number; body: object }): Promise<{ kubeconfig: string; setAnswer(f: typeof answer): void }> {
  let current = answer;
  const server = createServer((req, res) => {
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)/.exec(req.url ?? '');
    const a = m ? current(`${m[1]}/${m[2]}`) : { status: 404, body: { kind: 'Status', code: 404 } };
    res.statusCode = a.status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'passvol-api-')), 'kubeconfig');
  const port = (server.address() as { port: number }).port;
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:${port}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\nusers:\n- name: t\n  user: {}\n`,
  );
  return { kubeconfig, setAnswer: (f) => (current = f) };
}

const podBody = (name: string, uid: string, runtimeClassName?: string, fsGroupChangePolicy?: string) => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name, namespace: 'apps', uid },
  spec: { runtimeClassName, securityContext: { fsGroup: 2000, fsGroupChangePolicy } },
});

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

test('a disk passed through because of the pod is not mounted on the host again when kubelet restarts and stages and publishes again', { skip: needsRoot }, async () => {
  const api = await startApiServer(mkdtempSync(join(tmpdir(), 'passvol-api-')), { pods: { 'apps/sandboxed': { uid: 'u-k', runtimeClassName: 'kata' } }, pvcs: {} });
  const f = await csiFixture(['--kubeconfig', api.kubeconfig]);
  const v = await provisionAndStage(f, 'pv-pod-pass', { cap: mountCap() });
  assert.equal(mounted(v.device), true, 'nothing asked for passthrough at stage: a host mount');
  const target = targetFor(f, 'sandboxed', 'pv-pod-pass');
  const publish = { volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: { ...v.volumeContext, ...podInfo('sandboxed', 'u-k') } };
  await f.csi.node.NodePublishVolume!(publish);
  assert.ok(await new RecordStore(f.l.directVolumes).find(target), 'passed through for the pod');
  assert.equal(mounted(v.device), false, 'the staging mount went before the guest got the disk');

  // kubelet restarts: it stages again (same request) and publishes again.
  await f.csi.node.NodeStageVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, volume_capability: v.cap, volume_context: v.volumeContext });
  assert.equal(mounted(v.device), false, 'stage leaves a disk a sandbox holds unmounted on the host');
  assert.match(await f.driver.logsOnce(/staged without a host mount/), /"msg":"staged without a host mount: the disk is passed through to a sandbox at this target"/);

  // Staged on the host anyway (by a driver version without this check): the repeated publish takes it off.
  execFileSync('mount', [v.device, v.staging]);
  await f.csi.node.NodePublishVolume!(publish);
  assert.equal(mounted(v.device), false, 'the repeated publish unmounted the staging mount');
  assert.ok(await new RecordStore(f.l.directVolumes).find(target), 'the record stays');
});

test('API server errors other than 404 answer UNAVAILABLE (kubelet retries) instead of falling back to the host path', { skip: needsRoot }, async () => {
  const api = await startScriptedApiServer((pod) =>
    pod === 'apps/forbidden'
      ? { status: 403, body: { kind: 'Status', code: 403, message: 'pods "forbidden" is forbidden: User cannot get resource "pods"' } }
      : { status: 500, body: { kind: 'Status', code: 500, message: 'etcdserver: request timed out' } },
  );
  const f = await csiFixture(['--kubeconfig', api.kubeconfig]);
  const records = new RecordStore(f.l.directVolumes);
  for (const [pod, why] of [['flaky', /HTTP 500: etcdserver: request timed out/], ['forbidden', /HTTP 403/]] as const) {
    const v = await provisionAndStage(f, `pv-api-${pod}`, { cap: mountCap() });
    const target = targetFor(f, pod, `pv-api-${pod}`);
    const publish = () =>
      f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: { ...v.volumeContext, ...podInfo(pod, `u-${pod}`) } });
    const msg = await failsWith(publish(), UNAVAILABLE);
    assert.match(msg, new RegExp(`reading pod apps/${pod} from the API server failed`));
    assert.match(msg, why);
    assert.equal(isMountPoint(target), false, 'no host mount while the decision cannot be made');
    assert.equal(await records.find(target), undefined);
    // The API server answers again: the retried publish decides with the pod's facts.
    api.setAnswer((p) => ({ status: 200, body: podBody(p.split('/')[1]!, `u-${p.split('/')[1]}`, 'kata') }));
    await publish();
    assert.ok(await records.find(target), 'passed through once the pod could be read');
    api.setAnswer((p) => (p === 'apps/forbidden' ? { status: 403, body: { kind: 'Status', code: 403 } } : { status: 500, body: { kind: 'Status', code: 500 } }));
  }
});

test('pod info without a UID is not trusted: no pod facts, with the reason in the log', { skip: needsRoot }, async () => {
  const api = await startApiServer(mkdtempSync(join(tmpdir(), 'passvol-api-')), { pods: { 'apps/nouid': { uid: 'u-n', runtimeClassName: 'kata' } }, pvcs: {} });
  const f = await csiFixture(['--kubeconfig', api.kubeconfig]);
  const v = await provisionAndStage(f, 'pv-nouid', { cap: mountCap() });
  const target = targetFor(f, 'nouid', 'pv-nouid');
  const context = { ...v.volumeContext, 'csi.storage.k8s.io/pod.name': 'nouid', 'csi.storage.k8s.io/pod.namespace': 'apps' };
  await f.csi.node.NodePublishVolume!({ volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: v.cap, volume_context: context });
  assert.equal(await new RecordStore(f.l.directVolumes).find(target), undefined, 'host path');
  assert.ok(existsSync(target) && isMountPoint(target));
  assert.match(await f.driver.logsOnce(/without its UID/), /kubelet sent pod apps\/nouid without its UID/);
  assert.ok(!api.requests.some((u) => u.includes('/pods/nouid')), 'the API server was not asked for a pod it could not confirm');
});

/**
 * Pods named `<runtimeClassName>-<policy>[-more]` (`kata-OnRootMismatch`, `runc-none`), each with UID
 * `u-<name>`; `broken-...` answers HTTP 500.
 */
const podsByName = (pod: string) => {
  const name = pod.split('/')[1]!;
  const [runtimeClass, policy] = name.split('-');
  if (runtimeClass === 'broken') return { status: 500, body: { kind: 'Status', code: 500, message: 'etcdserver: request timed out' } };
  return { status: 200, body: podBody(name, `u-${name}`, runtimeClass, policy === 'none' ? undefined : policy) };
};

test('the pod\'s fsGroupChangePolicy goes into a passed-through disk\'s record next to fsGroup; a value it does not know is left out, and logged', { skip: needsRoot }, async () => {
  const api = await startScriptedApiServer(podsByName);
  const f = await csiFixture(['--kubeconfig', api.kubeconfig]);
  const records = new RecordStore(f.l.directVolumes);
  const metadata = async (volume: string, pod: string, opts: { fsGroup?: string; parameters?: Record<string, string> } = {}) => {
    const cap = mountCap('SINGLE_NODE_WRITER', 'ext4', opts.fsGroup ? { volume_mount_group: opts.fsGroup } : {});
    const v = await provisionAndStage(f, volume, { cap, ...(opts.parameters ? { parameters: opts.parameters } : {}) });
    const target = targetFor(f, pod, volume);
    await f.csi.node.NodePublishVolume!({
      volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: cap,
      volume_context: { ...v.volumeContext, ...podInfo(pod, `u-${pod}`) },
    });
    const { volumeId: _id, ...rest } = (await records.find(target))?.mountInfo.metadata ?? {};
    return rest;
  };
  const driver = 'disk.csi.passvol.io';
  assert.deepEqual(await metadata('pv-policy-root', 'kata-OnRootMismatch', { fsGroup: '2000' }), { csiDriver: driver, fsGroup: '2000', fsGroupChangePolicy: 'OnRootMismatch' });
  assert.deepEqual(await metadata('pv-policy-always', 'kata-Always', { fsGroup: '2000' }), { csiDriver: driver, fsGroup: '2000', fsGroupChangePolicy: 'Always' });
  // Passed through because of the StorageClass: the pod is still read for its policy.
  assert.deepEqual(await metadata('pv-policy-sc', 'runc-OnRootMismatch', { fsGroup: '2000', parameters: { passthrough: 'true' } }), { csiDriver: driver, fsGroup: '2000', fsGroupChangePolicy: 'OnRootMismatch' });
  assert.deepEqual(await metadata('pv-policy-unset', 'kata-none', { fsGroup: '2000' }), { csiDriver: driver, fsGroup: '2000' });
  assert.deepEqual(await metadata('pv-policy-odd', 'kata-Sometimes', { fsGroup: '2000' }), { csiDriver: driver, fsGroup: '2000' });
  assert.match(await f.driver.logsOnce(/fsGroupChangePolicy ignored/), /"pod":"apps\/kata-Sometimes","fsGroupChangePolicy":"Sometimes","msg":"fsGroupChangePolicy ignored: not one of Always, OnRootMismatch/);
  // The StorageClass decided, so a pod that cannot be read costs only the policy: Always, and a warning.
  assert.deepEqual(await metadata('pv-policy-broken', 'broken-OnRootMismatch', { fsGroup: '2000', parameters: { passthrough: 'true' } }), { csiDriver: driver, fsGroup: '2000' });
  assert.match(await f.driver.logsOnce(/cannot read the pod/), /"err":"HTTP 500: etcdserver: request timed out","msg":"cannot read the pod for its fsGroupChangePolicy: fsGroup is applied to every file \(Always\)"/);
  // No fsGroup (kubelet sends none when the pod has no securityContext.fsGroup): no policy either.
  assert.deepEqual(await metadata('pv-policy-nogroup', 'kata-OnRootMismatch'), { csiDriver: driver });
});

test('on the host path, OnRootMismatch skips the fsGroup walk when the volume root is right already; Always walks', { skip: needsRoot }, async () => {
  const api = await startScriptedApiServer(podsByName);
  const f = await csiFixture(['--kubeconfig', api.kubeconfig]);
  const cap = mountCap('SINGLE_NODE_WRITER', 'ext4', { volume_mount_group: '3460' });
  const v = await provisionAndStage(f, 'pv-host-policy', { cap });
  const file = join(v.staging, 'data', 'f');
  mkdirSync(join(v.staging, 'data'));
  writeFileSync(file, 'x');
  const publish = async (pod: string) => {
    const target = targetFor(f, pod, 'pv-host-policy');
    await f.csi.node.NodePublishVolume!({
      volume_id: v.volumeId, publish_context: v.publishContext, staging_target_path: v.staging, target_path: target, volume_capability: cap,
      volume_context: { ...v.volumeContext, ...podInfo(pod, `u-${pod}`) },
    });
    assert.ok(isMountPoint(target), 'host path');
  };
  await publish('runc-OnRootMismatch');
  assert.equal(statSync(file).gid, 3460, 'the root was not right: walked');
  // A file below a root that is right: OnRootMismatch leaves it, and says so.
  chownSync(file, 0, 0);
  await publish('runc-OnRootMismatch-again');
  assert.equal(statSync(file).gid, 0);
  assert.match(await f.driver.logsOnce(/fsGroup not walked/), /"msg":"fsGroup not walked: the volume root has it already \(fsGroupChangePolicy OnRootMismatch\)"/);
  await publish('runc-Always');
  assert.equal(statSync(file).gid, 3460, 'Always walks');
  chownSync(file, 0, 0);
  await publish('runc-none');
  assert.equal(statSync(file).gid, 3460, 'no policy: Always');
});
