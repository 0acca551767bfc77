// The runc-style commands end to end: create leaves a sandbox held by a shim, start/state/exec/kill work
// on it over the shim's control socket, delete tears it down; and delete still cleans up after a shim that
// was killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBundle } from '../helpers/oci-bundle.js';
import { cliSandboxRoot, sandboxSkip } from '../helpers/sandbox-fixture.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { ext4LoopDisk } from '../helpers/host-cleanup.js';

const skip = sandboxSkip;

test('run with stdin; create, start, state, exec, kill, delete; then delete after the shim was killed', { skip, timeout: 600_000 }, async () => {
  const { root, dv, rt, records } = cliSandboxRoot('passvol-life-');
  const flags = ['--root', dv, '--runtime-root', rt, '--go-shim-root', join(root, 'sbs')];
  const { dev } = ext4LoopDisk(root);
  const target = join(root, 'target');
  mkdirSync(target);
  await records.add(target, { 'volume-type': 'directvol', device: dev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });
  const bundle = writeBundle(join(root, 'b'), ['/bin/sh', '-c', 'echo hello from the container; exec sleep 300'], [{ destination: '/data', source: target }]);
  const state = async (id: string) => JSON.parse((await runCli(['state', id, '--runtime-root', rt])).stdout) as { status: string; pid: number };

  // run: stdin reaches the container, its output comes back, and its exit code is run's.
  const catBundle = writeBundle(join(root, 'cat'), ['/bin/sh', '-c', 'cat; exit 7'], [{ destination: '/data', source: target }]);
  const ran = await runCli(['run', '--bundle', catBundle, '--id', 'life-run', ...flags], {}, 'through stdin\n');
  assert.equal(ran.stdout, 'through stdin\n', ran.stderr);
  assert.equal(ran.code, 7);
  assert.equal(await records.sandboxOf(target), undefined, 'run released the volume');

  const created = await runCli(['create', 'life-1', '--bundle', bundle, ...flags]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((await state('life-1')).status, 'created');
  assert.equal(await records.sandboxOf(target), 'life-1', 'the volume is bound at create');
  const again = await runCli(['create', 'life-1', '--bundle', bundle, ...flags]);
  assert.equal(again.code, 4, 'a second create of the same id is refused');

  assert.equal((await runCli(['start', 'life-1', '--runtime-root', rt])).code, 0);
  const st = await state('life-1');
  assert.equal(st.status, 'running');
  assert.ok(st.pid > 0);
  const ex = await runCli(['exec', 'life-1', '--runtime-root', rt, '--', '/bin/sh', '-c', 'mount | grep " /data "; exit 3']);
  assert.equal(ex.code, 3, 'exec exits with the command\'s code');
  assert.match(ex.stdout, / on \/data type ext4 /);
  const as = await runCli(['exec', 'life-1', '--cwd', '/tmp', '--env', 'PATH=/bin', '--env', 'GREETING=hi', '--user', '1000:1001', '--runtime-root', rt, '--', '/bin/sh', '-c', 'echo "$(pwd) $GREETING $(id -u):$(id -g)"']);
  assert.equal(as.stdout, '/tmp hi 1000:1001\n', 'exec takes a working directory, environment entries and a user');
  assert.equal((await runCli(['exec', 'life-1', '--user', 'root', '--runtime-root', rt, '--', '/bin/true'])).code, 2, 'a user that is not numeric is refused');
  // With -i stdin reaches the command; without, the command sees its stdin end at once (cat does not hang).
  const fed = await runCli(['exec', 'life-1', '-i', '--runtime-root', rt, '--', '/bin/sh', '-c', 'cat; echo done'], {}, 'from stdin\n');
  assert.equal(fed.stdout, 'from stdin\ndone\n', fed.stderr);
  assert.equal((await runCli(['exec', 'life-1', '--runtime-root', rt, '--', '/bin/cat'], {}, 'ignored\n')).stdout, '');
  // -t: a terminal in the guest (a console's size, as this command has none); typed input is echoed there.
  const tty = await runCli(['exec', 'life-1', '-i', '-t', '--runtime-root', rt, '--', '/bin/sh', '-c', 'read line; /bin/busybox stty size; [ -t 1 ] && echo "got $line"'], {}, 'typed\n');
  assert.equal(tty.stdout, 'typed\r\n24 80\r\ngot typed\r\n', tty.stderr);
  // exec relays output as it comes: the first line arrives while the command still runs.
  const streaming = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'exec', 'life-1', '--runtime-root', rt, '--', '/bin/sh', '-c', 'echo first; sleep 4; echo second; exit 5'], { cwd: REPO_ROOT });
  const firstSeen = await new Promise<boolean>((resolve) => streaming.stdout.once('data', (d: Buffer) => resolve(d.toString().startsWith('first') && streaming.exitCode === null)));
  assert.ok(firstSeen, 'the first line came before the command ended');
  assert.equal(await new Promise((resolve) => streaming.once('exit', resolve)), 5);
  const refused = await runCli(['delete', 'life-1', '--runtime-root', rt, '--root', dv]);
  assert.equal(refused.code, 5, 'a running sandbox is not deleted without --force');
  assert.equal((await runCli(['kill', 'life-1', 'KILL', '--runtime-root', rt])).code, 0);
  for (let i = 0; i < 100 && (await state('life-1')).status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await state('life-1')).status, 'stopped');
  assert.match(readFileSync(join(rt, 'life-1', 'container.log'), 'utf8'), /hello from the container/);
  assert.equal((await runCli(['delete', 'life-1', '--runtime-root', rt, '--root', dv])).code, 0);
  assert.equal((await runCli(['state', 'life-1', '--runtime-root', rt])).code, 3, 'gone after delete');
  assert.equal(await records.sandboxOf(target), undefined, 'binding released');

  // A shim killed with its sandbox: state says stopped, delete cleans up what is left.
  assert.equal((await runCli(['create', 'life-2', '--bundle', bundle, ...flags])).code, 0);
  const shimPid = JSON.parse(readFileSync(join(rt, 'life-2', 'state.json'), 'utf8')).runtimePid as number;
  process.kill(shimPid, 'SIGKILL');
  for (let i = 0; i < 50 && existsSync(`/proc/${shimPid}`); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await state('life-2')).status, 'stopped');
  assert.equal((await runCli(['start', 'life-2', '--runtime-root', rt])).code, 8, 'no shim answers');
  assert.equal((await runCli(['delete', 'life-2', '--runtime-root', rt, '--root', dv])).code, 0);
  assert.equal(await records.sandboxOf(target), undefined);
  assert.equal(spawnSync('pgrep', ['-af', root], { encoding: 'utf8' }).stdout.trim(), '', 'no VM or helper left');

  // `create` killed while its VM boots: the shim, finding nobody to tell, removes the sandbox itself.
  const creator = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'create', 'life-3', '--bundle', bundle, ...flags], { cwd: REPO_ROOT, stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(join(rt, 'life-3', 'state.json')); i++) await new Promise((r) => setTimeout(r, 100));
  creator.kill('SIGKILL');
  for (let i = 0; i < 600 && existsSync(join(rt, 'life-3')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(existsSync(join(rt, 'life-3')), false, 'the orphaned sandbox removed itself');
  assert.equal(await records.sandboxOf(target), undefined);
  assert.equal(spawnSync('pgrep', ['-af', root], { encoding: 'utf8' }).stdout.trim(), '', 'no VM or helper left');
});
