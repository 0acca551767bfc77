import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPassvolError } from '../../../common/errors.js';
import type { VolumeAccess } from '../../capabilities.js';
import type { CreateVolumeInput, NodeVolumeSource } from '../backend.js';
import { ExportAccessResolver, type ExportAccess, type ExportLocator } from './export-access.js';
import { NasControllerBackend, NasNodeBackend } from './nas-backend.js';
import { encodeNasVolumeId } from './nas-volume-id.js';

/** Records calls; folders live in a Set. */
class FakeExport implements ExportAccess {
  readonly description = 'fake';
  readonly dirs = new Set<string>();
  readonly calls: string[] = [];
  async ensureDir(subDir: string, mode: number) {
    this.calls.push(`ensure ${subDir} ${mode.toString(8)}`);
    this.dirs.add(subDir);
  }
  async removeDir(subDir: string) {
    this.calls.push(`remove ${subDir}`);
    this.dirs.delete(subDir);
  }
  async archiveDir(subDir: string, name: string) {
    this.calls.push(`archive ${subDir} ${name}`);
    if (this.dirs.delete(subDir)) this.dirs.add(name);
  }
  async exists(subDir: string) {
    return this.dirs.has(subDir);
  }
  readonly meta = new Map<string, string>();
  async readMeta(key: string) {
    return this.meta.get(key);
  }
  async writeMeta(key: string, data: string) {
    this.meta.set(key, data);
  }
  async removeMeta(key: string) {
    this.meta.delete(key);
  }
  async usage() {
    return { totalBytes: 0, availableBytes: 0, usedBytes: 0, totalInodes: 0, freeInodes: 0, usedInodes: 0 };
  }
}

const mountAccess = (flags: string[] = []): VolumeAccess => ({ kind: 'mount', fsType: '', mountFlags: flags, volumeMountGroup: '', mode: 'MULTI_NODE_MULTI_WRITER' });
const input = (parameters: Record<string, string>, over: Partial<CreateVolumeInput> = {}): CreateVolumeInput => ({
  name: 'pvc-123',
  requiredBytes: 2 ** 30,
  limitBytes: 0,
  parameters,
  claim: { pvcName: 'data', pvcNamespace: 'team-a', pvName: 'pvc-123' },
  accesses: [mountAccess()],
  extraContext: { 'passvol.io/passthrough': 'true' },
  ...over,
});

function setup() {
  const fake = new FakeExport();
  const seen: string[] = [];
  const exports: ExportLocator = { forExport: (s, sh) => (seen.push(`${s}:${sh}`), fake) };
  const controller = new NasControllerBackend({ exports, now: () => new Date('2026-01-02T03:04:05Z') });
  return { fake, seen, controller };
}

test('create makes the folder from the template and returns a self-describing id and context', async () => {
  const { fake, seen, controller } = setup();
  const v = await controller.createVolume(input({ server: '127.0.0.1', share: '/export', subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}', mountOptions: 'soft' }, { accesses: [mountAccess(['actimeo=3'])] }));
  assert.equal(v.volumeId, 'nas#127.0.0.1#/export#team-a/data#delete');
  assert.equal(v.capacityBytes, 2 ** 30);
  assert.deepEqual(v.volumeContext, {
    'passvol.io/passthrough': 'true',
    server: '127.0.0.1',
    share: '/export',
    subDir: 'team-a/data',
    nfsVersion: '4.1',
    mountOptions: 'vers=4.1,noresvport,soft,actimeo=3',
  });
  assert.deepEqual(fake.calls, ['ensure team-a/data 777']);
  assert.deepEqual(seen, ['127.0.0.1:/export']);
  const again = await controller.createVolume(input({ server: '127.0.0.1', share: '/export', subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}', mountOptions: 'soft' }, { accesses: [mountAccess(['actimeo=3'])] }));
  assert.deepEqual(again, v);
});

test('delete follows the policy in the id; unknown ids and whole-share volumes are left alone', async () => {
  const { fake, controller } = setup();
  const del = (await controller.createVolume(input({ server: 'h', share: '/e' }))).volumeId;
  await controller.deleteVolume(del);
  await controller.deleteVolume(del);
  const arch = (await controller.createVolume(input({ server: 'h', share: '/e', onDelete: 'archive' }, { name: 'pvc-a', claim: { pvName: 'pvc-a' } }))).volumeId;
  await controller.deleteVolume(arch);
  const keep = (await controller.createVolume(input({ server: 'h', share: '/e', onDelete: 'retain' }, { name: 'pvc-r', claim: { pvName: 'pvc-r' } }))).volumeId;
  await controller.deleteVolume(keep);
  await controller.deleteVolume('pvd-0123');
  await controller.deleteVolume(encodeNasVolumeId({ server: 'h', share: '/e', subDir: '', onDelete: 'delete' }));
  assert.deepEqual(fake.calls.filter((c) => !c.startsWith('ensure')), ['remove pvc-123', 'remove pvc-123', 'archive pvc-a archived-pvc-a-20260102T030405Z']);
  assert.deepEqual([...fake.dirs].sort(), ['archived-pvc-a-20260102T030405Z', 'pvc-r']);
});

test('get answers from the id and the folder', async () => {
  const { controller } = setup();
  const id = (await controller.createVolume(input({ server: 'h', share: '/e' }))).volumeId;
  assert.deepEqual((await controller.getVolume(id))?.volumeContext, { server: 'h', share: '/e', subDir: 'pvc-123' });
  await controller.deleteVolume(id);
  assert.equal(await controller.getVolume(id), undefined);
  assert.equal(await controller.getVolume('nope'), undefined);
  await assert.rejects(controller.listVolumes(), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_UNIMPLEMENTED');
});

test('bad requests touch nothing', async () => {
  const { fake, controller } = setup();
  const bad: [CreateVolumeInput, string][] = [
    [input({ server: 'h', share: '/e', unknown: 'x' }), 'PV_ERR_INVALID_ARGUMENT'],
    [input({ server: 'h', share: 'e' }), 'PV_ERR_INVALID_ARGUMENT'],
    [input({ server: 'h', share: '/e', subDir: '../${pv.metadata.name}' }), 'PV_ERR_INVALID_ARGUMENT'],
    [input({ server: 'h', share: '/e' }, { accesses: [mountAccess(['bind'])] }), 'PV_ERR_INVALID_ARGUMENT'],
    [input({ server: 'h', share: '/e' }, { limitBytes: 1 }), 'PV_ERR_INVALID_ARGUMENT'],
    [input({ server: 'h', share: '/e' }, { source: { snapshotId: 's' } }), 'PV_ERR_UNIMPLEMENTED'],
  ];
  for (const [req, code] of bad) await assert.rejects(controller.createVolume(req), (e: unknown) => isPassvolError(e) && e.code === code, JSON.stringify(req.parameters));
  assert.deepEqual(fake.calls, []);
});

test('the node resolves the mount source from the id and context', async () => {
  const node = new NasNodeBackend();
  const id = encodeNasVolumeId({ server: '127.0.0.1', share: '/export', subDir: 'team-a/data', onDelete: 'delete' });
  assert.deepEqual(await node.resolveSource(id, {}, { nfsVersion: '3', mountOptions: 'vers=3,soft' }), {
    kind: 'nfs',
    server: '127.0.0.1',
    exportPath: '/export/team-a/data',
    fstype: 'nfs',
    mountOptions: ['vers=3', 'nolock', 'proto=tcp', 'rsize=1048576', 'wsize=1048576', 'soft', 'timeo=600', 'retrans=2', 'noresvport'],
  });
  assert.deepEqual(await node.resolveSource(id, {}, {}), { kind: 'nfs', server: '127.0.0.1', exportPath: '/export/team-a/data', fstype: 'nfs4', mountOptions: ['vers=4.1', 'noresvport'] });
  // A static PV in csi-driver-nfs style: any handle, the export in volumeAttributes.
  const exportPath = (s: NodeVolumeSource) => (s.kind === 'nfs' ? s.exportPath : s.devicePath);
  assert.equal(exportPath(await node.resolveSource('my-static-pv', {}, { server: 'nas', share: '/vol/', subdir: 'x' })), '/vol/x');
  assert.equal(exportPath(await node.resolveSource('whole', {}, { server: 'nas', share: '/' })), '/');
  await assert.rejects(node.resolveSource('my-static-pv', {}, {}), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_NOT_FOUND');
  await assert.rejects(node.resolveSource(id, {}, { share: '/other' }), (e: unknown) => isPassvolError(e) && /share "\/other" contradicts/.test(e.message));
  await assert.rejects(node.resolveSource(id, {}, { mountOptions: 'rbind' }), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT');
  await assert.rejects(node.resolveSource('s', {}, { server: 'nas', share: '/v', subDir: '../..' }), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT');
  assert.equal(node.maxVolumesPerNode(), 0);
  assert.equal(node.topology(), undefined);
  assert.ok(!node.nodeCapabilities.includes('STAGE_UNSTAGE_VOLUME'));
});

test('node stats of a NAS volume come from a local path of the export, never from mounting it', async () => {
  const local = new FakeExport();
  const mounted = new FakeExport();
  let mountsMade = 0;
  const resolver = new ExportAccessResolver([{ server: '10.0.0.5', share: '/exports', localDir: '/mnt/nas' }], () => local, () => {
    mountsMade++;
    return mounted;
  });
  const node = new NasNodeBackend(resolver);
  const id = (server: string) => encodeNasVolumeId({ server, share: '/exports', subDir: 'v1', onDelete: 'delete' });
  assert.ok(await node.usage(id('10.0.0.5'), {}), 'a local path answers');
  assert.equal(await node.usage(id('10.0.0.9'), {}), undefined, 'no local path: no answer, and no mount');
  assert.equal(mountsMade, 0, 'the mounting access was never even made');
});
