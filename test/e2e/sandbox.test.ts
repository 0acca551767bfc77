// The runtime end to end under TCG (KVM where a real one works): a container in a VM sandbox with a
// passed-through ext4 disk, a passed-through NFS export on the embedded server, and a plain folder over
// virtio-fs. The seeds' check (mount inside shows ext4 / nfs, never virtiofs, for the passed-through
// volumes), data survives into a second sandbox, online resize from the CLI grows what the container sees,
// stats match df, a live snapshot freezes the guest for its copy, and teardown leaves nothing bound,
// plugged or running.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MonitorClient, RecordStore } from '../../src/directvolume/index.js';
import { SandboxFreezer } from '../../src/csi/backends/disk/sandbox-freeze.js';
import { readBundle } from '../../src/runtime/oci/bundle.js';
import { Sandbox } from '../../src/runtime/sandbox/sandbox.js';
import { runtimeDeps } from '../../src/cli/runtime-setup.js';
import { startTestNfsServer } from '../helpers/nfs-server.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { runCli } from '../helpers/run-cli.js';
import { ext4LoopDisk, undoMountsAndLoops } from '../helpers/host-cleanup.js';

const skip = process.getuid?.() !== 0 ? 'sandboxes need root (loop devices, QEMU, NFS server)' : !existsSync('/usr/bin/qemu-system-x86_64') ? 'qemu-system-x86 is not installed: run scripts/setup.sh' : false;

test('passed-through disk and NFS export, virtio-fs for the rest; data kept; online resize; stats; live snapshot', { skip, timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-e2e-'));
  const nfs = await startTestNfsServer();
  const dv = join(root, 'direct-volumes');
  const shims = join(root, 'vc-sbs');
  const records = new RecordStore(dv);
  const log = pino({ level: 'warn' });
  const deps = await runtimeDeps({ root: dv, runtimeRoot: join(root, 'sandboxes'), goShimRoot: shims }, log);
  after(() => {
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });

  // What the CSI driver would leave: an ext4 disk and an NFS folder, each with a record for its target.
  const { img, dev } = ext4LoopDisk(root);
  const diskTarget = join(root, 'kubelet/pods/p1/volumes/disk/mount');
  const nasTarget = join(root, 'kubelet/pods/p1/volumes/nas/mount');
  const plain = join(root, 'plain');
  for (const d of [diskTarget, nasTarget, plain]) mkdirSync(d, { recursive: true });
  mkdirSync(join(nfs.exportDir, 'vol'));
  writeFileSync(join(plain, 'note.txt'), 'shared from the host\n');
  // A single file, as kubelet passes /etc/hosts: its folder holds something else that must stay private.
  const fileParent = join(root, 'pod-etc');
  mkdirSync(fileParent);
  writeFileSync(join(fileParent, 'hosts'), '127.0.0.1 e2e-one\n');
  writeFileSync(join(fileParent, 'secret'), 'not for the guest\n');
  await records.add(diskTarget, { 'volume-type': 'directvol', device: dev, fstype: 'ext4', metadata: { fsGroup: '3000' }, options: ['rw', 'nosuid', 'nodev'] });
  await records.add(nasTarget, { 'volume-type': 'nfs', device: `${nfs.info.server}:${nfs.info.share}/vol`, fstype: 'nfs4', options: ['vers=4.1', 'rw', 'nosuid', 'nodev'] });
  // The disk is named twice, read-only first: it is still attached writable for /data.
  const mounts = [{ destination: '/data-again', source: diskTarget, readonly: true }, { destination: '/data', source: diskTarget }, { destination: '/nas', source: nasTarget }, { destination: '/plain', source: plain }, { destination: '/etc-hosts', source: join(fileParent, 'hosts'), file: true, readonly: true }];

  // First sandbox: stays up for the checks.
  const bundle1 = await readBundle(writeBundle(join(root, 'b1'), ['/bin/sleep', '600'], mounts, undefined, { readonlyRoot: true }));
  const sb = await Sandbox.create('e2e-one', bundle1, deps);
  try {
    await sb.start(() => undefined);
    // The agent came up from the startup snapshot the image build made for TCG's CPU model. (Under KVM the
    // guest's CPU is this host's as KVM shows it, which may differ from what node saw here: the agent may
    // fall back to its bundle, slower but not wrong.)
    if (sb.accel === 'tcg') assert.match(readFileSync(join(root, 'sandboxes/e2e-one/vm/console.log'), 'utf8'), /"fromSnapshot":true[^\n]*"msg":"agent ready"/);
    const m = await sb.exec(['/bin/sh', '-c', 'mount']);
    const line = (dir: string) => m.stdout.split('\n').find((l) => l.includes(` on ${dir} `)) ?? '';
    assert.match(line('/data'), /^\/dev\/vd[a-z] on \/data type ext4 /, m.stdout);
    assert.equal(line('/data-again').split(' ')[0], line('/data').split(' ')[0], 'two mounts of one volume share one hot-plugged disk');
    assert.notEqual((await sb.exec(['/bin/sh', '-c', 'echo no > /data-again/ro-test'])).exitCode, 0, 'the read-only mount of it is read-only');
    assert.match(line('/nas'), / on \/nas type nfs4 /);
    assert.match(line('/plain'), / on \/plain type (virtiofs|9p) /);
    assert.doesNotMatch(line('/data') + line('/nas'), /virtiofs|9p/);
    // root.readonly holds inside the guest; the volumes stay writable.
    assert.notEqual((await sb.exec(['/bin/sh', '-c', 'touch /in-root'])).exitCode, 0, 'the read-only root refuses writes');
    // The spec's kernel filesystems are the guest kernel's own.
    assert.match(line('/sys'), /^sysfs on \/sys type sysfs \(ro,/);
    assert.match(line('/sys/fs/cgroup'), / type cgroup2 \(ro,/);
    assert.match(line('/dev/pts'), / type devpts /);
    assert.equal((await sb.exec(['/bin/cat', '/etc-hosts'])).stdout, '127.0.0.1 e2e-one\n');
    // The file reaches the guest through a read-only bind on the host, not only a read-only bind inside.
    const bind = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes('/e2e-one/shared/files/') && l.includes('hosts'));
    assert.match(bind ?? '', / ro[, ]/, `host-side bind of the file: ${bind}`);
    const helpers = spawnSync('pgrep', ['-af', 'virtiofsd|qemu-system'], { encoding: 'utf8' }).stdout;
    assert.ok(!helpers.includes(`${fileParent} `) && !helpers.includes(`=${fileParent},`), 'a shared file\'s folder is not shared');
    assert.equal(await records.sandboxOf(diskTarget), 'e2e-one', 'the record names the sandbox');
    assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(`${dev} `), 'the disk is not mounted on the host');

    const w = await sb.exec(['/bin/sh', '-c', 'echo disk-data > /data/kept.txt && echo nas-data > /nas/kept.txt && sync && cat /plain/note.txt && stat -c %g /data']);
    assert.equal(w.exitCode, 0, w.stderr);
    assert.equal(w.stdout, 'shared from the host\n3000\n', 'virtio-fs content and fsGroup');
    assert.equal(readFileSync(join(nfs.exportDir, 'vol/kept.txt'), 'utf8'), 'nas-data\n');

    // Stats through the monitor socket, as `kata-runtime direct-volume stats` gets them, against df inside.
    const stats = await runCli(['direct-volume', 'stats', '--root', dv, '--go-shim-root', shims, '--volume-path', diskTarget]);
    assert.equal(stats.code, 0, stats.stderr);
    const bytes = (JSON.parse(stats.stdout) as { usage: { total: number; used: number; unit: number }[] }).usage.find((u) => u.unit === 1)!;
    const df = (await sb.exec(['/bin/sh', '-c', 'df -k /data | tail -1'])).stdout.trim().split(/\s+/);
    assert.equal(Math.round(bytes.total / 1024), Number(df[1]), `stats ${JSON.stringify(bytes)} vs df ${df.join(' ')}`);

    // Online resize: the disk grows on the host (as the CSI controller does), then the CLI asks the sandbox.
    truncateSync(img, 160 * 2 ** 20);
    execFileSync('losetup', ['--set-capacity', dev]);
    const resize = await runCli(['direct-volume', 'resize', '--root', dv, '--go-shim-root', shims, '--volume-path', diskTarget, '--size', String(160 * 2 ** 20)]);
    assert.equal(resize.code, 0, resize.stderr);
    const grown = Number((await sb.exec(['/bin/sh', '-c', 'df -k /data | tail -1'])).stdout.trim().split(/\s+/)[1]);
    assert.ok(grown > Number(df[1]) * 2, `the container sees ${grown} KiB after resize (was ${df[1]})`);

    // A live snapshot, as the CSI driver takes it: the guest freezes the filesystem (writing out what the
    // container has not synced), writers wait, the image is copied, the guest thaws.
    assert.equal((await sb.exec(['/bin/sh', '-c', 'echo before-snapshot > /data/snap.txt'])).exitCode, 0);
    const monitor = new MonitorClient({ goShimRoot: shims, rsShimRoot: join(root, 'no-rs-shims') });
    const copy = join(root, 'snapshot.img');
    let writer: Promise<{ exitCode: number }> | undefined;
    await new SandboxFreezer({ records, monitor, log }).whileFrozen([dev], async () => {
      writer = sb.exec(['/bin/sh', '-c', 'echo during > /data/during.txt']);
      const early = await Promise.race([writer.then(() => 'written'), sleep(1500).then(() => 'waiting')]);
      assert.equal(early, 'waiting', 'a write to the frozen filesystem waits for the thaw');
      copyFileSync(img, copy);
    });
    assert.equal((await writer!).exitCode, 0, 'the write went through after the thaw');
    assert.equal(spawnSync('e2fsck', ['-fn', copy]).status, 0, 'the copy is a clean filesystem');
    const inCopy = (path: string) => spawnSync('debugfs', ['-R', `cat ${path}`, copy], { encoding: 'utf8' }).stdout;
    assert.equal(inCopy('/snap.txt'), 'before-snapshot\n', 'what the container wrote before the snapshot is in it');
    assert.equal(inCopy('/during.txt'), '', 'what it wrote during the snapshot is not');
    // A renewed lease outlasts the first one; a freeze whose lease runs out thaws by itself, and its late thaw
    // says so.
    await monitor.freeze('e2e-one', dev, 3000);
    await sleep(2000);
    await monitor.freeze('e2e-one', dev, 3000, { renew: true });
    await sleep(2000);
    assert.equal(await monitor.thaw('e2e-one', dev), true, 'held for 4 s on a 3 s lease, renewed once');
    await monitor.freeze('e2e-one', dev, 200);
    await sleep(1500);
    assert.equal((await sb.exec(['/bin/sh', '-c', 'echo after-lease > /data/after.txt'])).exitCode, 0, 'writable again once the lease ran out');
    assert.equal(await monitor.thaw('e2e-one', dev), false);
  } finally {
    await sb.kill('SIGKILL').catch(() => undefined);
    await sb.destroy();
  }
  assert.equal(await records.sandboxOf(diskTarget), undefined, 'binding released');
  assert.ok(!existsSync(join(shims, 'e2e-one')), 'monitor socket folder removed');

  // Second sandbox, after the first ended: the data is there.
  const bundle2 = await readBundle(writeBundle(join(root, 'b2'), ['/bin/sh', '-c', 'cat /data/kept.txt /nas/kept.txt'], mounts));
  const sb2 = await Sandbox.create('e2e-two', bundle2, deps);
  let out = '';
  try {
    await sb2.start((_s, d) => (out += d.toString()));
    assert.equal(await sb2.wait(), 0);
  } finally {
    await sb2.destroy();
  }
  assert.equal(out, 'disk-data\nnas-data\n');
  assert.equal(spawnSync('pgrep', ['-af', 'passvol-e2e-'], { encoding: 'utf8' }).stdout.trim(), '', 'no QEMU or virtiofsd left');
});
