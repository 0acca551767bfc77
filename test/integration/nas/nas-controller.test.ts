// The NAS controller against the embedded NFS server's export, reached through its local folder
// (--nas-local-path): folders appear and go per onDelete policy, visibly over NFS too; retries are
// harmless; bad parameters and links planted by NFS clients leave the export and the host unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPassvolError } from '../../../src/common/errors.js';
import { systemExec } from '../../../src/common/exec.js';
import type { CreateVolumeInput } from '../../../src/csi/backends/backend.js';
import { NasControllerBackend, NasNodeBackend } from '../../../src/csi/backends/nas/nas-backend.js';
import { META_DIR } from '../../../src/csi/backends/nas/export-access.js';
import { createExportResolver } from '../../../src/csi/backends/nas/nas-exports.js';
import { encodeNasVolumeId } from '../../../src/csi/backends/nas/nas-volume-id.js';
import { startTestNfsServer } from '../../helpers/nfs-server.js';
import { scratchDir } from '../../helpers/temp-dir.js';
import { snapshotTree } from '../../helpers/tree-snapshot.js';

const skip = process.getuid?.() !== 0 ? 'needs root: runs nfs-ganesha, whose VFS backend opens files by handle (CAP_DAC_READ_SEARCH)' : false;

const nfsLs = async (path: string, version: 3 | 4) => (await systemExec.run('nfs-ls', [`nfs://127.0.0.1${path}${version === 4 ? '?version=4' : ''}`], { timeoutMs: 30_000 })).stdout;
const nfsWrite = async (local: string, path: string) => systemExec.run('nfs-cp', [local, `nfs://127.0.0.1${path}?version=4`], { timeoutMs: 30_000 });
const code = (c: string, re?: RegExp) => (e: unknown) => isPassvolError(e) && e.code === c && (!re || re.test(e.message));

function request(name: string, parameters: Record<string, string>): CreateVolumeInput {
  return {
    name,
    requiredBytes: 10 * 2 ** 30,
    limitBytes: 0,
    parameters,
    claim: { pvName: name, pvcName: `claim-${name}`, pvcNamespace: 'team-a' },
    accesses: [{ kind: 'mount', fsType: '', mountFlags: [], volumeMountGroup: '', mode: 'MULTI_NODE_MULTI_WRITER' }],
    extraContext: {},
  };
}

test('NAS controller on the embedded export: each onDelete policy, idempotent, bad input changes nothing', { skip }, async () => {
  const { info, exportDir } = await startTestNfsServer();
  const controller = new NasControllerBackend({ exports: createExportResolver({ localPaths: [info.localPathMapping], exec: systemExec }) });
  const node = new NasNodeBackend();
  const base = { server: info.server, share: info.share };
  const payload = join(await scratchDir(), 'payload.txt');
  await writeFile(payload, 'written by a client\n');

  const volumes: Record<string, string> = {};
  for (const onDelete of ['delete', 'retain', 'archive'] as const) {
    const req = request(`pvc-${onDelete}`, { ...base, onDelete, subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}' });
    const v = await controller.createVolume(req);
    assert.equal(v.volumeId, `nas#127.0.0.1#/export#team-a/claim-pvc-${onDelete}#${onDelete}`);
    assert.deepEqual(await controller.createVolume(req), v, 'a retried create returns the same volume');
    const dir = join(exportDir, 'team-a', `claim-pvc-${onDelete}`);
    assert.equal((await stat(dir)).mode & 0o777, 0o777);
    // The node's source is a real NFS path: a client writes into it, and it shows in the folder.
    const source = await node.resolveSource(v.volumeId, {}, v.volumeContext);
    assert.deepEqual(source, { kind: 'nfs', server: '127.0.0.1', exportPath: `/export/team-a/claim-pvc-${onDelete}`, fstype: 'nfs4', mountOptions: ['vers=4.1', 'noresvport'] });
    await nfsWrite(payload, `${source.kind === 'nfs' ? source.exportPath : ''}/data.txt`);
    assert.equal(await readFile(join(dir, 'data.txt'), 'utf8'), 'written by a client\n');
    assert.ok(await controller.getVolume(v.volumeId));
    volumes[onDelete] = v.volumeId;
  }

  for (const [policy, id] of Object.entries(volumes)) {
    await controller.deleteVolume(id);
    await controller.deleteVolume(id);
    const listing = await nfsLs('/export/team-a/', 3);
    if (policy === 'retain') assert.match(listing, /claim-pvc-retain/);
    else assert.doesNotMatch(listing, new RegExp(`claim-pvc-${policy}`));
    if (policy === 'retain') assert.ok(await controller.getVolume(id));
    else assert.equal(await controller.getVolume(id), undefined);
  }
  assert.equal(await readFile(join(exportDir, 'team-a', 'claim-pvc-retain', 'data.txt'), 'utf8'), 'written by a client\n');
  const archived = (await readdir(exportDir)).filter((n) => n.startsWith('archived-'));
  assert.equal(archived.length, 1);
  assert.match(archived[0] ?? '', /^archived-team-a-claim-pvc-archive-\d{8}T\d{6}Z$/);
  assert.equal(await readFile(join(exportDir, archived[0] ?? '', 'data.txt'), 'utf8'), 'written by a client\n');
  assert.match(await nfsLs('/export/', 4), /archived-team-a-claim-pvc-archive-/);

  // The folder changes behind ganesha's back: a client that has just listed the parent still sees a new
  // volume at once (ganesha is configured not to answer from stale cached attributes).
  for (const v of [3, 4] as const) await nfsLs('/export/team-a/', v);
  const late = await controller.createVolume(request('pvc-late', { ...base, subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}' }));
  for (const v of [3, 4] as const) {
    assert.match(await nfsLs('/export/team-a/', v), /claim-pvc-late/, `NFSv${v} listing after a local create`);
    assert.equal(await nfsLs('/export/team-a/claim-pvc-late/', v), '', `NFSv${v} lookup of the new folder`);
  }
  await controller.deleteVolume(late.volumeId);
  for (const v of [3, 4] as const) assert.doesNotMatch(await nfsLs('/export/team-a/', v), /claim-pvc-late/);

  // Bad parameters: InvalidArgument, and not a byte of the export changes.
  const before = await snapshotTree(exportDir);
  const bad: [Record<string, string>, RegExp][] = [
    [{ ...base, localPath: '/srv' }, /unknown key\(s\) localPath \(known: server, share/],
    [{ ...base, share: 'export' }, /share: must be an absolute path/],
    [{ ...base, subDir: '../${pv.metadata.name}' }, /parameter subDir: "\.\.\/\$\{pv\.metadata\.name\}" would give folders like "\.\.\/x", which must be a clean relative path/],
    [{ ...base, subDir: '${pvc.metadata.namespace}/../../etc' }, /parameter subDir/],
    [{ ...base, subDir: '/${pv.metadata.name}' }, /must not start with \//],
    [{ ...base, subDir: '${pvc.metadata.uid}' }, /unknown variable/],
    [{ ...base, mountOptions: 'rbind' }, /"rbind" is not allowed/],
  ];
  for (const [parameters, why] of bad) {
    await assert.rejects(controller.createVolume(request('pvc-bad', parameters)), code('PV_ERR_INVALID_ARGUMENT', why), JSON.stringify(parameters));
  }
  assert.deepEqual(await snapshotTree(exportDir), before);
});

test('links planted in the export by NFS clients never lead the controller outside it', { skip }, async () => {
  const { info, exportDir } = await startTestNfsServer();
  const controller = new NasControllerBackend({ exports: createExportResolver({ localPaths: [info.localPathMapping], exec: systemExec }) });
  const outside = await scratchDir('passvol-outside-');
  await mkdir(join(outside, 'victim'));
  await writeFile(join(outside, 'victim', 'keep.txt'), 'precious\n');
  const outsideBefore = await snapshotTree(outside);
  await symlink(outside, join(exportDir, 'evil'));
  await symlink(join(outside, 'victim'), join(exportDir, 'pvc-link'));

  const id = (subDir: string, onDelete: 'delete' | 'archive') => encodeNasVolumeId({ server: info.server, share: info.share, subDir, onDelete });
  await assert.rejects(
    controller.createVolume(request('pvc-x', { server: info.server, share: info.share, subDir: 'evil/${pv.metadata.name}' })),
    code('PV_ERR_FAILED_PRECONDITION', /evil is a symbolic link/),
  );
  await assert.rejects(controller.deleteVolume(id('evil/victim', 'delete')), code('PV_ERR_FAILED_PRECONDITION', /symbolic link/));
  await assert.rejects(controller.deleteVolume(id('evil/victim', 'archive')), code('PV_ERR_FAILED_PRECONDITION', /symbolic link/));
  await assert.rejects(
    controller.createVolume(request('pvc-link', { server: info.server, share: info.share })),
    code('PV_ERR_FAILED_PRECONDITION', /exists but is a symbolic link/),
  );
  // A volume folder that is itself a link: deleting the volume removes the link, not what it points to.
  await controller.deleteVolume(id('pvc-link', 'delete'));
  assert.deepEqual((await readdir(exportDir)).filter((n) => n !== META_DIR).sort(), ['evil']);
  assert.deepEqual(await snapshotTree(outside), outsideBefore);
});
