// A pod's containers in one sandbox, through the CLI as a higher layer would drive it: the sandbox's own
// container and a second one added with `create --sandbox` share one passed-through disk, mounted once in
// the guest; each has its own rootfs (the second's a hot-plugged virtio-fs share). Removing the second
// leaves the disk with the first; a volume only the second used goes with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBundle } from '../helpers/oci-bundle.js';
import { cliSandboxRoot, sandboxSkip } from '../helpers/sandbox-fixture.js';
import { runCli } from '../helpers/run-cli.js';
import { ext4LoopDisk } from '../helpers/host-cleanup.js';

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
  const listed = JSON.parse((await cli(['list', '--json'])).stdout) as { id: string; sandbox: string; status: string }[];
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
