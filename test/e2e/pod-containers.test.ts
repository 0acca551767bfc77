// A pod's containers in one sandbox, through the CLI as a higher layer would drive it: the sandbox's own
// container and a second one added with `create --sandbox` share one passed-through disk, mounted once in
// the guest; each has its own rootfs (the second's through the sandbox's pod share). Removing the second
// leaves the disk with the first; a volume only the second used goes with it. Containers added with NAS
// volumes on NFS servers the sandbox does not reach yet get guest networks of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBundle } from '../helpers/oci-bundle.js';
import { cliSandboxRoot, sandboxSkip } from '../helpers/sandbox-fixture.js';
import { runCli } from '../helpers/run-cli.js';
import { ext4LoopDisk } from '../helpers/host-cleanup.js';
import { startTestNfsServer } from '../helpers/nfs-server.js';

const skip = sandboxSkip;

test("a pod's second container joins the sandbox: the shared disk is mounted once, its own volume goes with it", { skip, timeout: 600_000 }, async () => {
  const { root, dv, rt, records } = cliSandboxRoot('passvol-pod-');
  const shared = join(root, 'shared-target');
  const own = join(root, 'own-target');
  for (const t of [shared, own]) mkdirSync(t);
  const disks = [ext4LoopDisk(root, 64, 'shared.img'), ext4LoopDisk(root, 64, 'own.img')];
  await records.add(shared, { 'volume-type': 'directvol', device: disks[0]!.dev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });
  await records.add(own, { 'volume-type': 'directvol', device: disks[1]!.dev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });
  const first = writeBundle(join(root, 'first'), ['/bin/sh', '-c', 'echo from-first > /data/note; exec sleep 300'], [{ destination: '/data', source: shared }]);
  const second = writeBundle(join(root, 'second'), ['/bin/sh', '-c', 'cat /shared/note; echo from-second >> /shared/note; echo mine > /own/file; exec sleep 300'], [
    { destination: '/shared', source: shared },
    { destination: '/own', source: own },
  ]);
  const cli = async (args: string[], code = 0) => {
    const r = await runCli([args[0] as string, '--runtime-root', rt, ...args.slice(1)]);
    assert.equal(r.code, code, `passvol ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const mountLine = async (args: string[], dir: string) => (await cli(['exec', ...args, '--', '/bin/sh', '-c', 'mount'])).stdout.split('\n').find((l) => l.includes(` on ${dir} `)) ?? '';

  await cli(['create', 'pod1', '--bundle', first, '--root', dv, '--go-shim-root', join(root, 'sbs')]);
  await cli(['start', 'pod1']);
  await cli(['create', 'side', '--bundle', second, '--sandbox', 'pod1']);
  assert.equal(JSON.parse((await cli(['state', 'side', '--sandbox', 'pod1'])).stdout).status, 'created');
  await cli(['start', 'side', '--sandbox', 'pod1']);
  // Both see the same guest block device at their own paths: one hot-plug, one guest mount.
  const inFirst = await mountLine(['pod1'], '/data');
  const inSecond = await mountLine(['side', '--sandbox', 'pod1'], '/shared');
  assert.match(inFirst, /^\/dev\/vd[a-z] on \/data type ext4 /);
  assert.equal(inSecond.split(' ')[0], inFirst.split(' ')[0], 'the shared disk is mounted once in the guest');
  assert.match(await mountLine(['side', '--sandbox', 'pod1'], '/'), / type virtiofs /, 'the second container has its own rootfs share');
  const note = await cli(['exec', 'pod1', '--', '/bin/cat', '/data/note']);
  assert.equal(note.stdout, 'from-first\nfrom-second\n', 'what one container writes the other reads');
  assert.equal(readFileSync(join(rt, 'pod1', 'container-side.log'), 'utf8'), 'from-first\n', "the second container's output has its own log");
  assert.equal(await records.sandboxOf(own), 'pod1');
  assert.equal(JSON.parse((await cli(['state', 'side', '--sandbox', 'pod1'])).stdout).status, 'running');
  const listed = JSON.parse((await cli(['list', '--json'])).stdout) as { id: string; sandbox: string; status: string; created: string }[];
  assert.ok(Date.parse(listed[1]?.created ?? '') > Date.parse(listed[0]?.created ?? ''), 'an added container shows when it was created, not when its sandbox was');
  assert.deepEqual(listed.map(({ id, sandbox, status }) => ({ id, sandbox, status })), [
    { id: 'pod1', sandbox: 'pod1', status: 'running' },
    { id: 'side', sandbox: 'pod1', status: 'running' },
  ]);
  assert.match((await cli(['list'])).stdout, /^ID\s+SANDBOX\s+STATUS\s+PID\s+BUNDLE\s+CREATED\npod1\s+pod1\s+running\s+\d+\s+\S+first\s.*\nside\s+pod1\s+running\s/);

  // A running added container is not removed without --force; with it, only what it alone used goes.
  await cli(['delete', 'side', '--sandbox', 'pod1'], 5);
  await cli(['delete', 'side', '--sandbox', 'pod1', '--force']);
  assert.equal(await records.sandboxOf(own), undefined, 'the volume only the second container used is released');
  assert.equal(await records.sandboxOf(shared), 'pod1', 'the shared one stays with the sandbox');
  assert.match(await mountLine(['pod1'], '/data'), / type ext4 /);
  assert.equal((await cli(['state', 'side', '--sandbox', 'pod1'], 3)).code, 3);

  await cli(['delete', 'pod1', '--force', '--root', dv]);
  assert.equal(await records.sandboxOf(shared), undefined);
  assert.equal(spawnSync('pgrep', ['-af', root], { encoding: 'utf8' }).stdout.trim(), '', 'no VM or helper left');
});

test('containers added with NAS volumes on servers the sandbox does not reach get a guest network for them', { skip, timeout: 600_000 }, async () => {
  const { root, dv, rt, records } = cliSandboxRoot('passvol-pod-nfs-');
  const nfs = await startTestNfsServer();
  // The same server under two names is two servers to the runtime, as two NAS hosts would be. The second
  // name's volume is NFSv3: a v4.1 client finds one server behind two addresses (session trunking) and
  // keeps to the first path, while v3 mounts through the address it is given, which shows the network.
  const volumes = [
    { name: 'a', server: nfs.info.server, options: ['vers=4.1'] },
    { name: 'b', server: nfs.info.server, options: ['vers=4.1'] },
    { name: 'c', server: 'localhost', options: ['vers=3'] },
  ];
  const targets: Record<string, string> = {};
  for (const v of volumes) {
    mkdirSync(join(nfs.exportDir, v.name));
    targets[v.name] = join(root, `nas-${v.name}`);
    mkdirSync(targets[v.name] as string);
    await records.add(targets[v.name] as string, { 'volume-type': 'nfs', device: `${v.server}:${nfs.info.share}/${v.name}`, fstype: v.options[0] === 'vers=3' ? 'nfs' : 'nfs4', options: [...v.options, 'rw', 'nosuid', 'nodev'] });
  }
  const cli = async (args: string[], code = 0) => {
    const r = await runCli([args[0] as string, '--runtime-root', rt, ...args.slice(1)]);
    assert.equal(r.code, code, `passvol ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const mountLine = async (args: string[], dir: string) => (await cli(['exec', ...args, '--', '/bin/sh', '-c', 'mount'])).stdout.split('\n').find((l) => l.includes(` on ${dir} `)) ?? '';
  const nasBundle = (name: string, mounts: [string, string][]) =>
    writeBundle(join(root, name), ['/bin/sh', '-c', `${mounts.map(([dest]) => `echo ${name} > ${dest}/from-${name}`).join('; ')}; exec sleep 300`], mounts.map(([destination, source]) => ({ destination, source })));

  // The sandbox's own container has no NAS volume (as a pod's pause container): the VM boots without a network.
  await cli(['create', 'pod2', '--bundle', writeBundle(join(root, 'first'), ['/bin/sleep', '300'], []), '--root', dv, '--go-shim-root', join(root, 'sbs')]);
  await cli(['start', 'pod2']);
  // The first NAS server gets network 0, hot-plugged.
  await cli(['create', 'one', '--bundle', nasBundle('one', [['/nas-a', targets.a as string]]), '--sandbox', 'pod2']);
  await cli(['start', 'one', '--sandbox', 'pod2']);
  assert.match(await mountLine(['one', '--sandbox', 'pod2'], '/nas-a'), /^10\.0\.2\.100:\S+\/a on \/nas-a type nfs4 .*clientaddr=10\.0\.2\.15/);
  // A server already reached stays on its network; a new one gets the next.
  await cli(['create', 'two', '--bundle', nasBundle('two', [['/nas-b', targets.b as string], ['/nas-c', targets.c as string]]), '--sandbox', 'pod2']);
  await cli(['start', 'two', '--sandbox', 'pod2']);
  assert.match(await mountLine(['two', '--sandbox', 'pod2'], '/nas-b'), /^10\.0\.2\.100:\S+\/b on \/nas-b type nfs4 /);
  // Its own guest address on network 1.
  const c = await mountLine(['two', '--sandbox', 'pod2'], '/nas-c');
  assert.match(c, /^10\.0\.3\.100:\S+\/c on \/nas-c type nfs \(/);
  for (const option of ['mountaddr=10.0.3.100', 'addr=10.0.3.100']) assert.ok(c.includes(`,${option},`) || c.endsWith(`,${option})`), `${option} in ${c}`);
  // What the containers wrote is on the server.
  const onServer = async (name: string, file: string) => {
    const path = join(nfs.exportDir, name, file);
    for (let i = 0; i < 100 && !(existsSync(path) && readFileSync(path, 'utf8').length > 0); i++) await new Promise((r) => setTimeout(r, 100));
    return readFileSync(path, 'utf8');
  };
  assert.equal(await onServer('a', 'from-one'), 'one\n');
  assert.equal(await onServer('b', 'from-two'), 'two\n');
  assert.equal(await onServer('c', 'from-two'), 'two\n');

  // A container removed and made again (a restart) reuses its network.
  await cli(['delete', 'two', '--sandbox', 'pod2', '--force']);
  assert.equal(await records.sandboxOf(targets.c as string), undefined);
  await cli(['create', 'two-again', '--bundle', nasBundle('two-again', [['/nas-c', targets.c as string]]), '--sandbox', 'pod2']);
  await cli(['start', 'two-again', '--sandbox', 'pod2']);
  assert.match(await mountLine(['two-again', '--sandbox', 'pod2'], '/nas-c'), /^10\.0\.3\.100:\S+ on \/nas-c type nfs /);

  await cli(['delete', 'pod2', '--force', '--root', dv]);
  for (const t of Object.values(targets)) assert.equal(await records.sandboxOf(t), undefined);
  assert.equal(spawnSync('pgrep', ['-af', root], { encoding: 'utf8' }).stdout.trim(), '', 'no VM or helper left');
});

test('containers added to a sandbox come through one pod share: more of them than the VM has hot-plug slots, each with its own folders and files, read-only where asked, and nothing stays bound once they go', { skip, timeout: 600_000 }, async () => {
  const { root, dv, rt } = cliSandboxRoot('passvol-podshare-');
  const cli = async (args: string[], code = 0) => {
    const r = await runCli([args[0] as string, '--runtime-root', rt, ...args.slice(1)]);
    assert.equal(r.code, code, `passvol ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const first = writeBundle(join(root, 'first'), ['/bin/sleep', '300'], []);
  await cli(['create', 'pod2', '--bundle', first, '--root', dv, '--go-shim-root', join(root, 'sbs')]);
  await cli(['start', 'pod2']);
  // The VM has 8 hot-plug slots; each of these containers would have taken 3 (rootfs, a folder, its files).
  const count = 9;
  for (let i = 0; i < count; i++) {
    const rw = join(root, `rw${i}`);
    const ro = join(root, `ro${i}`);
    mkdirSync(rw);
    mkdirSync(ro);
    writeFileSync(join(ro, 'given'), `given-${i}\n`);
    writeFileSync(join(root, `hosts${i}`), `hosts-${i}\n`);
    const bundle = writeBundle(join(root, `c${i}`), ['/bin/sh', '-c', `echo from-${i} > /rw/out; exec sleep 300`], [
      { destination: '/rw', source: rw },
      { destination: '/ro', source: ro, readonly: true },
      { destination: '/etc/hosts', source: join(root, `hosts${i}`), file: true },
    ]);
    await cli(['create', `c${i}`, '--bundle', bundle, '--sandbox', 'pod2']);
    await cli(['start', `c${i}`, '--sandbox', 'pod2']);
  }
  for (const i of [0, count - 1]) {
    const seen = await cli(['exec', `c${i}`, '--sandbox', 'pod2', '--', '/bin/sh', '-c', 'cat /ro/given /etc/hosts; touch /ro/x 2>/dev/null && echo ro-writable; stat -c %d / /rw /ro | sort -u | wc -l; mount | grep " on / "']);
    assert.match(seen.stdout, new RegExp(`^given-${i}\\nhosts-${i}\\n3\\n\\S+ on / type virtiofs `), seen.stdout);
    await waitForFile(join(root, `rw${i}`, 'out'), `from-${i}\n`);
  }
  const sandboxDir = join(rt, 'pod2');
  // What the container mounts read-only is read-only where the guest gets it: in the pod share, and in the
  // namespace of the virtiofsd that serves it (a remount after the bind would not have reached either).
  const optionsAt = (mountinfo: string, suffix: string) => mountinfo.split('\n').find((l) => l.split(' ')[4]?.endsWith(suffix))?.split(' ')[5] ?? '';
  const virtiofsd = spawnSync('pgrep', ['-f', `virtiofsd.*${sandboxDir}/containers`], { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? '';
  for (const mountinfo of [readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync(`/proc/${virtiofsd}/mountinfo`, 'utf8')]) {
    assert.match(optionsAt(mountinfo, '/k1/dir2'), /^ro,/, 'the read-only folder');
    assert.match(optionsAt(mountinfo, '/k1/dir1'), /^rw,/, 'the writable one');
    assert.match(optionsAt(mountinfo, '/k1/rootfs'), /^rw,/);
  }
  const bound = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`${sandboxDir}/`)).length;
  assert.ok(bound() >= count * 4, 'each container has its rootfs, folders and file bound into the pod share');
  for (let i = 0; i < count; i++) await cli(['delete', `c${i}`, '--sandbox', 'pod2', '--force']);
  assert.equal(bound(), 2, "only the pod share's two folders stay mounted while the sandbox runs");
  // The guest is served the read-only one: it can put nothing where the host makes binds.
  const shared = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === join(sandboxDir, 'containers')) ?? '';
  assert.match(shared.split(' ')[5] ?? '', /^ro,/, shared);
  for (let i = 0; i < count; i++) assert.equal(existsSync(join(sandboxDir, 'mounts', `k${i + 1}`)), false);
  await cli(['delete', 'pod2', '--force', '--root', dv]);
  assert.equal(bound(), 0);
});

async function waitForFile(path: string, content: string): Promise<void> {
  for (let tries = 0; tries < 100 && (!existsSync(path) || readFileSync(path, 'utf8') !== content); tries++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(readFileSync(path, 'utf8'), content);
}
