// The guest image build: every artifact named in the manifest exists with its hash, a second build takes
// everything from the cache, and the initramfs and agent disk stages are byte-for-byte reproducible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { tempDir, testImage, vmSkipReason } from '../../helpers/vm.js';
import { buildGuestImage } from '../../../src/guest-image/build-guest-image.js';
import { readCpio } from '../../../src/guest-image/cpio.js';
import { sha256File } from '../../../src/guest-image/hash.js';
import { readManifest } from '../../../src/guest-image/manifest.js';
import { agentDiskStage } from '../../../src/guest-image/agent-disk-stage.js';
import { bundleAgent } from '../../../src/guest-image/agent-bundle.js';
import { collectNodeRuntime } from '../../../src/guest-image/node-runtime.js';
import { systemExec } from '../../../src/common/exec.js';
import { PLACEHOLDER_AGENT } from '../../helpers/vm.js';
import type { ProgressEvent } from '../../../src/guest-image/progress.js';

const skip = process.getuid?.() !== 0 ? 'the image build needs root (apt-get)' : vmSkipReason();

test('the manifest names an ELF kernel, an uncompressed cpio with /init and an ext4 agent disk, with their hashes', { skip, timeout: 600_000 }, async () => {
  const started = Date.now();
  const image = await testImage();
  console.log(`# first build in this run: ${Date.now() - started} ms (built: ${image.built.join(', ') || 'nothing'})`);
  const m = await readManifest(image.manifestPath);
  assert.deepEqual(m, image.manifest);
  for (const a of [m.kernel, m.initramfs, m.agentDisk]) assert.equal(await sha256File(a.path), a.sha256, a.path);
  const head = Buffer.alloc(4);
  const fh = await open(m.kernel.path, 'r');
  await fh.read(head, 0, 4, 0);
  await fh.close();
  assert.deepEqual([...head], [0x7f, 0x45, 0x4c, 0x46]);
  assert.equal(m.initramfs.format, 'cpio');
  const entries = readCpio(await readFile(m.initramfs.path));
  const names = new Set(entries.map((e) => e.path));
  for (const p of ['init', 'bin/busybox', 'bin/sh', 'bin/insmod', 'dev/console', 'lib/modules/boot.order', 'lib/modules/ext4.ko', 'lib/modules/virtio_blk.ko']) {
    assert.ok(names.has(p), `initramfs has ${p}`);
  }
  // The background modules are on the agent disk, not in the initramfs the kernel unpacks before /init.
  assert.ok(!names.has('lib/modules/xfs.ko') && !names.has('lib/modules/nfsv4.ko'));
  const onDisk = execFileSync('debugfs', ['-R', 'ls -p /modules', m.agentDisk.path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  for (const f of ['xfs.ko', 'nfsv4.ko', 'sunrpc.ko', 'virtiofs.ko', 'nfs.order', 'virtiofs.order', '9p.order', 'xfs.order']) assert.match(onDisk, new RegExp(`/${f.replace('.', '\\.')}/`), `agent disk has /modules/${f}`);
  assert.ok(entries.every((e) => !e.path.endsWith('.ko.xz') && !e.path.endsWith('.ko.zst')), 'modules are plain .ko');
  assert.equal(m.agentDisk.serial, 'passvol-agent');
  assert.equal(m.agentPort, 'passvol.agent');
  assert.match(m.cmdline, /console=ttyS0/);
  assert.doesNotMatch(m.cmdline, /\bquiet\b/);
});

test('a second build takes every stage from the cache', { skip, timeout: 600_000 }, async () => {
  await testImage();
  const events: ProgressEvent[] = [];
  const started = Date.now();
  const again = await buildGuestImage({ agentEntry: process.env.PASSVOL_VM_TEST_AGENT ?? PLACEHOLDER_AGENT, manifestName: 'manifest-test.json' }, (e) => events.push(e));
  console.log(`# warm build: ${Date.now() - started} ms`);
  assert.deepEqual(again.built.filter((s) => s !== 'agent-bundle' && s !== 'manifest'), []);
  for (const stage of ['kernel', 'modules', 'initramfs', 'agent-disk']) assert.ok(events.some((e) => e.stage === stage && e.state === 'cached'), stage);
});

test('the agent disk is reproducible: two builds in fresh caches give the same bytes', { skip, timeout: 600_000 }, async (t) => {
  const runtime = await collectNodeRuntime(systemExec, '/usr/bin/node');
  const bundle = await bundleAgent(PLACEHOLDER_AGENT);
  const a = await agentDiskStage({ root: await tempDir(t, 'pv-img-a-'), exec: systemExec, runtime, bundle: bundle.code });
  const b = await agentDiskStage({ root: await tempDir(t, 'pv-img-b-'), exec: systemExec, runtime, bundle: bundle.code });
  assert.equal(a.meta.sha256, b.meta.sha256);
  assert.equal(a.cached, false);
});
