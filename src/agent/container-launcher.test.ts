import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENTER_SCRIPT, LAUNCH_SCRIPT, LAUNCHER_ENV, TTY_SCRIPT, execCommand, initCommand, terminalCommand } from './container-launcher.js';

const id = { cwdHost: '/r/work', uid: 1000, gid: 2000, args: ['/bin/sh', '-c', 'echo "$HOME"'] };
const at = { cgroupProcs: '/cg/containers/c1/cgroup.procs', oomScoreAdj: 1000 };
const enter = ['sh', '-c', ENTER_SCRIPT, 'passvol-enter', '/cg/containers/c1/cgroup.procs', '1000'];

test('init: new mount + PID namespaces, the script (which joins the cgroup and takes the OOM score), a clean environment, then chroot and uid/gid', () => {
  const cmd = initCommand({ busybox: '/bin/busybox' }, '/r', '/r/proc', ['HOME=/root', 'IFS=x'], id, at);
  assert.equal(cmd.file, '/bin/busybox');
  assert.deepEqual(cmd.env, LAUNCHER_ENV, 'the container environment never reaches the launcher shell');
  assert.deepEqual(cmd.args.slice(0, 6), ['unshare', '-m', '-p', '-f', '--propagation', 'private']);
  const s = cmd.args.indexOf(LAUNCH_SCRIPT);
  assert.deepEqual(cmd.args.slice(s - 3, s + 8), ['/bin/busybox', 'sh', '-c', LAUNCH_SCRIPT, 'passvol-launch', '/r', '/r/proc', '/bin/busybox', '/cg/containers/c1/cgroup.procs', '1000', '']);
  assert.deepEqual(cmd.args.slice(s + 8), [
    '/bin/busybox', 'env', '-i', '--', 'HOME=/root', 'IFS=x',
    '/bin/busybox', 'nsenter', '-r/r', '-w/r/work', '-G', '2000', '-S', '1000', '-F', '--', '/bin/sh', '-c', 'echo "$HOME"',
  ]);
});

test("exec: joins the cgroup, then the init by pid; arguments pass as argv, never through a shell's parsing; the working directory is the pinned fd 3", () => {
  const cmd = execCommand({ busybox: '/bin/busybox' }, 4242, ['A=1', 'B=x=y', 'my.var=1'], id, 17, at);
  assert.deepEqual(cmd.env, LAUNCHER_ENV, 'the container environment never reaches the shell in front');
  assert.equal(cmd.file, '/bin/busybox');
  assert.deepEqual(cmd.args, [...enter, '/bin/busybox', 'env', '-i', '--', 'A=1', 'B=x=y', 'my.var=1', '/bin/busybox', 'nsenter', '-t', '4242', '-m', '-p', '-r', '-w/proc/self/fd/3', '-G', '2000', '-S', '1000', '--', '/bin/sh', '-c', 'echo "$HOME"']);
  assert.deepEqual(cmd.fds, [17]);
});

test('supplementary groups: setpriv sets gid and groups first, nsenter only the uid', () => {
  const withGroups = { ...id, additionalGids: [3000, 2000] };
  const l = { busybox: '/bin/busybox', setpriv: '/usr/bin/setpriv' };
  const init = initCommand(l, '/r', '/r/proc', [], withGroups, at);
  assert.equal(init.file, '/usr/bin/setpriv');
  assert.deepEqual(init.args.slice(0, 4), ['--regid=2000', '--groups=2000,3000', '--', '/bin/busybox']);
  assert.deepEqual(init.args.slice(4, 10), ['unshare', '-m', '-p', '-f', '--propagation', 'private']);
  assert.deepEqual(init.args.slice(init.args.indexOf('nsenter')), ['nsenter', '-r/r', '-w/r/work', '-S', '1000', '-F', '--', '/bin/sh', '-c', 'echo "$HOME"']);
  const exec = execCommand(l, 7, [], withGroups, 9, { oomScoreAdj: 0 });
  assert.deepEqual(exec.args, ['sh', '-c', ENTER_SCRIPT, 'passvol-enter', '', '0', '/bin/busybox', 'env', '-i', '--', '/usr/bin/setpriv', '--regid=2000', '--groups=2000,3000', '--', '/bin/busybox', 'nsenter', '-t', '7', '-m', '-p', '-r', '-w/proc/self/fd/3', '-S', '1000', '--', '/bin/sh', '-c', 'echo "$HOME"']);
  assert.throws(() => execCommand({ busybox: '/bin/busybox' }, 7, [], withGroups, 9, at), /setpriv is not in the guest image/);
});

test('a terminal: script runs the words from its environment (no one argument grows with the command); the pty is sized and the process leads its own session on it, with nothing forked on the way but the launcher', () => {
  const l = { busybox: '/bin/busybox', script: '/usr/bin/script' };
  const exec = execCommand(l, 7, ['A=1', 'my.var=2'], id, 9, { oomScoreAdj: 0, terminal: { rows: 40, cols: 120 } });
  // The PID namespace first (nsenter forks there), then the size, the session, the environment, and the rest, which does not fork.
  const nsenter = exec.args.indexOf('nsenter');
  assert.deepEqual(exec.args.slice(0, nsenter - 1), [...enter.slice(0, 4), '', '0']);
  assert.deepEqual(exec.args.slice(nsenter), [
    'nsenter', '-t', '7', '-p', '--',
    '/bin/busybox', 'sh', '-c', TTY_SCRIPT, 'passvol-tty', '/bin/busybox', 'rows 40 cols 120',
    '/bin/busybox', 'setsid', '-c',
    '/bin/busybox', 'env', '-i', '--', 'A=1', 'my.var=2',
    '/bin/busybox', 'nsenter', '-t', '7', '-m', '-r', '-w/proc/self/fd/3', '-G', '2000', '-S', '1000', '--', '/bin/sh', '-c', 'echo "$HOME"',
  ]);
  const t = terminalCommand(l, exec);
  assert.equal(t.file, '/usr/bin/script');
  assert.deepEqual(t.args.slice(0, 3), ['--quiet', '--return', '--command']);
  assert.equal(t.args[4], '/dev/null');
  const words = Object.keys(t.env).filter((k) => k.startsWith('PASSVOL_W')).length;
  assert.equal(t.args[3], `exec ${Array.from({ length: words }, (_, i) => `"$PASSVOL_W${i}"`).join(' ')}`);
  assert.deepEqual(
    Array.from({ length: words }, (_, i) => t.env[`PASSVOL_W${i}`]),
    ['/bin/busybox', 'env', '-i', '--', ...Object.entries(LAUNCHER_ENV).map(([k, v]) => `${k}=${v}`), exec.file, ...exec.args],
    'the launcher, behind an env -i that clears these variables',
  );
  assert.equal(t.env.SHELL, '/bin/sh');
  assert.deepEqual([t.depth, t.terminal, t.fds], [2, true, [9]]);
  const init = initCommand(l, '/r', '/r/proc', [], id, { oomScoreAdj: 0, terminal: { rows: 24, cols: 80 } });
  const s = init.args.indexOf(LAUNCH_SCRIPT);
  assert.deepEqual(init.args.slice(s + 5, s + 13), ['', '0', 'rows 24 cols 80', '/bin/busybox', 'setsid', '-c', '/bin/busybox', 'env']);
});

test("capabilities: nsenter enters the root as root and caps-exec, run there by the descriptor the agent passes (fd 3 for an init, 4 beside an exec's working directory), takes the user and groups and narrows the capabilities", () => {
  const l = { busybox: '/bin/busybox', setpriv: '/usr/bin/setpriv' };
  const capabilities = { masks: ['a80425fb', 'a80425fb', 'a80425fb', '0', '0'], helperFd: 21 };
  const withGroups = { ...id, additionalGids: [3000] };
  const init = initCommand(l, '/r', '/r/proc', [], withGroups, { oomScoreAdj: 0, capabilities });
  assert.equal(init.file, '/bin/busybox', 'no setpriv in front: caps-exec sets the groups');
  assert.deepEqual(init.fds, [21]);
  const nsenter = init.args.lastIndexOf('nsenter');
  assert.deepEqual(init.args.slice(nsenter), ['nsenter', '-r/r', '-w/r/work', '-F', '--', '/proc/self/fd/3', '3', '1000', '2000', '2000,3000', 'a80425fb', 'a80425fb', 'a80425fb', '0', '0', '--', '/bin/sh', '-c', 'echo "$HOME"']);
  const exec = execCommand(l, 7, [], id, 9, { oomScoreAdj: 0, capabilities });
  assert.deepEqual(exec.fds, [9, 21]);
  const x = exec.args.lastIndexOf('nsenter');
  assert.deepEqual(exec.args.slice(x, x + 13), ['nsenter', '-t', '7', '-m', '-p', '-r', '-w/proc/self/fd/3', '--', '/proc/self/fd/4', '4', '1000', '2000', '-']);
  assert.equal(execCommand(l, 7, [], id, 9, { oomScoreAdj: 0 }).fds?.length, 1, 'none without capabilities to narrow');
});
