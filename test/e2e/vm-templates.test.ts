// VM templates on a real QEMU: the first sandbox makes the template (one boot), the next ones are restored
// from it, two at once. Each clone mounts its own passed-through disk and its rootfs over a hot-plugged
// virtio-fs share (one also a NAS volume over a hot-plugged network), its clock is the host's, its kernel reseeded its random number generator, and a
// template that cannot be restored is discarded and the sandbox boots instead.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { runtimeDeps } from '../../src/cli/runtime-setup.js';
import { readBundle } from '../../src/runtime/oci/bundle.js';
import { Sandbox } from '../../src/runtime/sandbox/sandbox.js';
import { ext4LoopDisk } from '../helpers/host-cleanup.js';
import { startTestNfsServer } from '../helpers/nfs-server.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { runCli } from '../helpers/run-cli.js';
import { sandboxFixture, sandboxSkip as skip } from '../helpers/sandbox-fixture.js';

test('sandboxes start from a VM template: own disks and shares, the host clock, reseeded randomness', { skip, timeout: 600_000 }, async () => {
  const { root, records, target } = await sandboxFixture('passvol-tpl-');
  // On a tmpfs, as templates belong (/tmp may be a disk).
  const templates = mkdtempSync('/dev/shm/passvol-tpl-');
  after(() => rmSync(templates, { recursive: true, force: true }));
  const deps = await runtimeDeps({ root: join(root, 'dv'), runtimeRoot: join(root, 'sandboxes'), goShimRoot: join(root, 'sbs'), vmTemplates: templates }, pino({ level: 'warn' }));
  const second = join(root, 'target2');
  mkdirSync(second);
  await records.add(second, { 'volume-type': 'directvol', device: ext4LoopDisk(root, 64, 'disk2.img').dev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });
  // A NAS volume too: a clone gets its network hot-plugged.
  const nfs = await startTestNfsServer();
  mkdirSync(join(nfs.exportDir, 'vol'));
  const nas = join(root, 'nas-target');
  mkdirSync(nas);
  await records.add(nas, { 'volume-type': 'nfs', device: `${nfs.info.server}:${nfs.info.share}/vol`, fstype: 'nfs4', options: ['vers=4.1', 'rw'] });
  const check = 'date +%s; cat /proc/sys/kernel/random/uuid; mount | grep -E " on (/|/data|/nas) "; echo written-by-$0 > /data/f; cat /data/f';
  const sandboxFor = async (id: string, disk: string, withNas = false) =>
    Sandbox.create(id, await readBundle(writeBundle(join(root, id), ['/bin/sleep', '600'], [{ destination: '/data', source: disk }, ...(withNas ? [{ destination: '/nas', source: nas }] : [])])), deps);

  // The first sandbox makes the template, then starts from it as well.
  const first = await sandboxFor('tpl-1', target);
  const sandboxes = [first];
  try {
    await first.start(() => undefined);
    assert.equal(readdirSync(templates).filter((n) => !n.startsWith('.')).length, 1, 'one template made');
    await first.destroy();
    sandboxes.length = 0;

    // Two clones at once, each with its own disk.
    const clones = await Promise.all([sandboxFor('tpl-2', target, true), sandboxFor('tpl-3', second)]);
    sandboxes.push(...clones);
    const outputs: string[] = [];
    for (const [i, sb] of clones.entries()) {
      await sb.start(() => undefined);
      assert.ok(sb.timings.bootMs > 0);
      const r = await sb.exec(['/bin/sh', '-c', check, `clone${i}`]);
      assert.equal(r.exitCode, 0, r.stderr);
      outputs.push(r.stdout);
      const [epoch, , ...rest] = r.stdout.trim().split('\n');
      assert.ok(Math.abs(Number(epoch) - Date.now() / 1000) < 5, `the guest clock is the host's (guest ${epoch})`);
      assert.match(rest.join('\n'), /^rootfs on \/ type virtiofs /m, 'the rootfs came over the hot-plugged share');
      assert.match(rest.join('\n'), /^\/dev\/vd[a-z] on \/data type ext4 /m, 'the disk is passed through');
      assert.match(rest.join('\n'), new RegExp(`written-by-clone${i}`));
      const dmesg = await sb.exec(['/bin/sh', '-c', 'dmesg | grep -c "reseeded due to virtual machine fork"']);
      assert.equal(dmesg.stdout.trim(), '1', 'the kernel saw the new VM generation id and reseeded');
    }
    assert.match(outputs[0] ?? '', / on \/nas type nfs4 /, 'the NAS volume is mounted by the guest over its hot-plugged network');
    assert.equal((await clones[0]?.exec(['/bin/sh', '-c', 'echo over-nfs > /nas/g && sync']))?.exitCode, 0);
    assert.equal(readFileSync(join(nfs.exportDir, 'vol/g'), 'utf8'), 'over-nfs\n');
    const uuid = (o: string) => o.trim().split('\n')[1];
    assert.notEqual(uuid(outputs[0] ?? ''), uuid(outputs[1] ?? ''), 'the clones do not share random state');
    for (const sb of sandboxes.splice(0)) await sb.destroy();
    const listed = await runCli(['template', 'list', '--dir', templates]);
    assert.equal((JSON.parse(listed.stdout) as { makeMs: number }[]).length, 1, listed.stderr);

    // A template QEMU cannot restore (as after a QEMU upgrade): discarded, and the sandbox boots.
    const [dir] = readdirSync(templates).filter((n) => !n.startsWith('.'));
    writeFileSync(join(templates, dir as string, 'state'), 'not a VM state');
    const booted = await sandboxFor('tpl-4', target);
    sandboxes.push(booted);
    await booted.start(() => undefined);
    assert.equal((await booted.exec(['/bin/cat', '/data/f'])).stdout, 'written-by-clone0\n', 'the data the clone wrote is on the disk');
    assert.ok(!readdirSync(templates).includes(dir as string), 'the bad template was discarded');
    const made = await runCli(['template', 'make', '--dir', templates, '--log-level', 'error']);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await runCli(['template', 'remove', '--dir', templates])).stdout, 'removed 1\n');
    assert.deepEqual(readdirSync(templates), []);
  } finally {
    for (const sb of sandboxes) await sb.destroy().catch(() => undefined);
  }
});
