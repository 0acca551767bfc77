// The embedded NAS is a real NFS server: rpcbind knows it, and a user-space NFS client (libnfs, since this
// host's kernel has no NFS client) lists, reads and writes the exported folder over NFSv3 and NFSv4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { systemExec } from '../../../src/common/exec.js';
import { isPassvolError } from '../../../src/common/errors.js';
import { acceptsTcp, argvOf } from '../../../src/csi/backends/nas/daemon-process.js';
import { MountedExportAccess } from '../../../src/csi/backends/nas/mounted-export-access.js';
import { startTestNfsServer } from '../../helpers/nfs-server.js';
import { scratchDir } from '../../helpers/temp-dir.js';

const skip = process.getuid?.() !== 0 ? 'needs root: nfs-ganesha\'s VFS backend opens files by handle (CAP_DAC_READ_SEARCH)' : false;

const nfsUrl = (path: string, version: 3 | 4) => `nfs://127.0.0.1${path}${version === 4 ? '?version=4' : ''}`;
const run = async (cmd: string, ...args: string[]) => (await systemExec.run(cmd, args, { timeoutMs: 30_000 })).stdout;

test('embedded NFS server: registered, exported, readable and writable over NFSv3 and NFSv4, reused, restarted', { skip }, async (t) => {
  const { info, exportDir, server } = await startTestNfsServer();
  t.diagnostic(`ganesha.nfsd served after ${info.startMs} ms (pid ${info.pid}, reused ${info.reused})`);
  assert.equal(info.share, '/export');
  assert.equal(info.localPathMapping, `127.0.0.1:/export=${info.localDir}`);

  // rpcbind lists NFS v3 and v4 on 2049 and MOUNT v3 on 20048, over TCP.
  const rpc = await run('rpcinfo', '-p', '127.0.0.1');
  for (const line of [/100003\s+3\s+tcp\s+2049\s+nfs/, /100003\s+4\s+tcp\s+2049\s+nfs/, /100005\s+3\s+tcp\s+20048\s+mountd/]) assert.match(rpc, line);
  // The MOUNT protocol lists the export.
  assert.match(await run('showmount', '-e', '127.0.0.1'), /^\/export\s+\(everyone\)$/m);

  // A file made through the local folder is listed and read over NFS, with both versions.
  await writeFile(join(exportDir, 'made-locally.txt'), 'from the host\n');
  for (const v of [3, 4] as const) {
    assert.match(await run('nfs-ls', nfsUrl('/export/', v)), /made-locally\.txt/, `NFSv${v} listing`);
    assert.equal(await run('nfs-cat', nfsUrl('/export/made-locally.txt', v)), 'from the host\n');
  }
  // A file written over NFS lands in the local folder.
  const src = join(info.localDir, '..', 'to-copy.txt');
  await writeFile(src, 'over the wire\n');
  for (const v of [3, 4] as const) {
    await run('nfs-cp', src, nfsUrl(`/export/written-v${v}.txt`, v));
    assert.equal(await readFile(join(exportDir, `written-v${v}.txt`), 'utf8'), 'over the wire\n');
  }

  // Starting again finds it running and keeps it.
  const again = await server.start();
  assert.equal(again.reused, true);
  assert.equal(again.pid, info.pid);

  // Stop, then start: a clean restart on the same folder.
  let t0 = performance.now();
  await server.stop();
  t.diagnostic(`stop took ${Math.round(performance.now() - t0)} ms`);
  assert.equal(await argvOf(info.pid), undefined, 'ganesha.nfsd is gone');
  assert.equal(await acceptsTcp('127.0.0.1', 2049), false, 'port 2049 is closed');
  await server.stop();
  // Another program on the NFS port: refused with a clear reason, nothing started.
  const squatter = createServer().listen(2049, '127.0.0.1');
  await once(squatter, 'listening');
  try {
    await assert.rejects(server.start(), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_FAILED_PRECONDITION' && /127\.0\.0\.1:2049 is already served by another program/.test(e.message));
  } finally {
    squatter.close();
  }
  t0 = performance.now();
  const restarted = await server.start();
  t.diagnostic(`restart (rpcbind + ganesha) took ${Math.round(performance.now() - t0)} ms`);
  assert.equal(restarted.reused, false);
  assert.match(await run('nfs-ls', nfsUrl('/export/', 4)), /written-v3\.txt/);

  // A server killed with SIGKILL leaves stale rpcbind entries and a pid file; start recovers.
  process.kill(restarted.pid, 'SIGKILL');
  while ((await argvOf(restarted.pid)) !== undefined) await new Promise((r) => setTimeout(r, 20));
  const recovered = await server.start();
  assert.equal(recovered.reused, false);
  assert.notEqual(recovered.pid, restarted.pid);
  assert.match(await run('nfs-ls', nfsUrl('/export/', 3)), /made-locally\.txt/);
});

test('the controller\'s mount-based export access works where the kernel has an NFS client, and says what to do where not', { skip }, async () => {
  const { info, exportDir } = await startTestNfsServer();
  const access = new MountedExportAccess({ server: info.server, share: info.share, nfsVersion: '4.1', exec: systemExec, mountRoot: await scratchDir() });
  const kernelHasNfs = /\tnfs4?$/m.test(await readFile('/proc/filesystems', 'utf8'));
  if (kernelHasNfs) {
    await access.ensureDir('through-a-mount', 0o755);
    assert.ok(await access.exists('through-a-mount'));
    assert.ok((await stat(join(exportDir, 'through-a-mount'))).isDirectory());
    await access.removeDir('through-a-mount');
  } else {
    await assert.rejects(
      access.ensureDir('through-a-mount', 0o755),
      (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_FAILED_PRECONDITION' && /this host has no NFS client .*configure --nas-local-path 127\.0\.0\.1:\/export=/.test(e.message),
    );
  }
});
