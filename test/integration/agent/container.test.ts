// Containers through the real agent: a busybox rootfs, a volume bound in read-write and read-only, the init
// process run as uid/gid 1000 in its own mount and PID namespaces, output relayed as events, exec, stdin,
// signals, and the rules for deleting containers and unmounting volumes they use.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, closeSync, existsSync, openSync } from 'node:fs';
import { readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '../../../src/protocol/index.js';
import {
  makeBusyboxRootfs,
  makeLoopDisk,
  needsBusybox,
  needsRoot,
  startAgent,
  type AgentUnderTest,
  type LoopDisk,
} from './agent-harness.js';

const skip = needsRoot || needsBusybox;
let agent: AgentUnderTest;
let data: LoopDisk;
const VOLUME = '/run/passvol/volumes/data';

// The capability helper scripts/install-go-tools.sh builds (set-up runs it), which the guest image carries.
const CAPS_EXEC = join(process.env.PASSVOL_TOOLS_DIR ?? join(process.cwd(), '.tools'), 'bin/passvol-caps-exec');

before(async () => {
  if (skip) return;
  agent = await startAgent({ extraArgs: existsSync(CAPS_EXEC) ? ['--caps-exec', CAPS_EXEC] : [] });
  data = await makeLoopDisk(agent, { name: 'vdb', serial: 'pv-data', sizeMiB: 64, fstype: 'ext4' });
  // fsGroup 1000 makes the volume writable for the container's gid 1000, as Kubernetes would.
  await agent.client.request('mount', { source: { kind: 'block', serial: data.serial }, target: VOLUME, fstype: 'ext4', fsGroup: 1000 });
});
after(() => agent?.stop());

const exitOf = (c: string, e: string) => () =>
  agent.client.events.find((ev) => ev.event === 'exit' && ev.containerId === c && ev.execId === e);

test('a container writes into its volume as uid 1000, sees ext4 there, and its output and exit code come back', { skip }, async () => {
  const rootfs = '/run/passvol/containers/c1/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  const script = [
    'echo "hello from $(id -u):$(id -g) groups=$(id -G)"',
    'echo written > /data/out',
    'grep " /data " /proc/mounts',
    'touch /ro/x 2>/dev/null && echo ro-writable || echo ro-refused',
    'echo "pid=$$ maxpid=$(ls /proc | grep "^[0-9]" | sort -n | tail -1)"',
    'echo "cwd=$(pwd)"',
    'echo to-stderr >&2',
    'exit 3',
  ].join('; ');
  await agent.client.request('createContainer', {
    containerId: 'c1',
    rootfs,
    mounts: [
      { source: VOLUME, destination: '/data', readonly: false },
      { source: VOLUME, destination: '/ro', readonly: true },
    ],
    process: { args: ['/bin/sh', '-c', script], env: ['PATH=/bin', 'GREETING=hi'], cwd: '/work', uid: 1000, gid: 1000 },
  });
  const { pid } = await agent.client.request('startProcess', { containerId: 'c1', execId: 'c1' });
  assert.ok(pid > 0);
  const status = await agent.client.request('wait', { containerId: 'c1', execId: 'c1' });
  assert.deepEqual(status, { exitCode: 3 });
  const out = agent.client.output('c1', 'c1');
  assert.match(out, /^hello from 1000:1000 groups=1000$/m);
  assert.match(out, /^\S+ \/data ext4 rw,nosuid,nodev/m);
  assert.match(out, /^ro-refused$/m);
  // PID 1 of its own PID namespace: it sees only the pids its own forks got, never the host's.
  const maxpid = Number(/^pid=1 maxpid=(\d+)$/m.exec(out)?.[1]);
  assert.ok(maxpid > 1 && maxpid < 500 && (agent.child.pid ?? 0) > maxpid, out);
  assert.match(out, /^cwd=\/work$/m);
  assert.equal(agent.client.output('c1', 'c1', 'stderr'), 'to-stderr\n');
  assert.deepEqual(await agent.client.waitFor(exitOf('c1', 'c1')), { v: PROTOCOL_VERSION, event: 'exit', containerId: 'c1', execId: 'c1', exitCode: 3 });

  const written = join(agent.root, VOLUME, 'out');
  assert.equal(await readFile(written, 'utf8'), 'written\n');
  assert.equal((await stat(written)).uid, 1000);

  const busy = await agent.client.failure('unmount', { target: VOLUME });
  assert.equal(busy.code, 'FAILED_PRECONDITION');
  assert.match(busy.message, /c1/);
  await agent.client.request('deleteContainer', { containerId: 'c1' });
  const again = await agent.client.failure('deleteContainer', { containerId: 'c1' });
  assert.equal(again.code, 'NOT_FOUND');
});

test('exec, stdin, signals and delete on a running container; other volumes are not pinned by it', { skip }, async () => {
  const other = await makeLoopDisk(agent, { name: 'vdc', serial: 'pv-other', sizeMiB: 64, fstype: 'ext4' });
  const otherTarget = '/run/passvol/volumes/other';
  await agent.client.request('mount', { source: { kind: 'block', serial: other.serial }, target: otherTarget, fstype: 'ext4' });

  const rootfs = '/run/passvol/containers/c2/rootfs';
  const rootfsHost = await makeBusyboxRootfs(agent, rootfs);
  await agent.client.request('createContainer', {
    containerId: 'c2',
    rootfs,
    mounts: [{ source: VOLUME, destination: '/data', readonly: false }],
    process: { args: ['/bin/sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while true; do sleep 0.05; done'], uid: 1000, gid: 1000 },
  });
  const { pid } = await agent.client.request('startProcess', { containerId: 'c2', execId: 'init' });
  await agent.client.waitFor(() => (agent.client.output('c2', 'init').includes('ready') ? true : undefined));
  // The pid is the container process itself, inside the rootfs, not its launcher.
  assert.equal(await readlink(`/proc/${pid}/root`), rootfsHost);
  assert.match(await readFile(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+1000\s/m);

  // The volume mounted before the container started is not held by the container's mount namespace.
  await agent.client.request('unmount', { target: otherTarget });
  const fd = openSync(other.loop, constants.O_RDONLY | constants.O_EXCL);
  closeSync(fd);

  // exec: joins the container, sees its processes only, reads stdin.
  await agent.client.request('startProcess', {
    containerId: 'c2',
    execId: 'cat',
    process: { args: ['/bin/sh', '-c', 'ps -o pid,args | grep -c "sleep\\|sh -c" >/dev/null; echo "pids=$(ls /proc | grep "^[0-9]" | tr "\\n" " ")"; exec cat'], cwd: '/data', uid: 1000, gid: 1000 },
  });
  assert.deepEqual(await agent.client.request('writeStdin', { containerId: 'c2', execId: 'cat', data: Buffer.from('echo me\n').toString('base64') }), { bytes: 8 });
  await agent.client.request('closeStdin', { containerId: 'c2', execId: 'cat' });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c2', execId: 'cat' }), { exitCode: 0 });
  const catOut = agent.client.output('c2', 'cat');
  assert.match(catOut, /^pids=1 .*$/m, 'the exec sees the container init as pid 1');
  assert.match(catOut, /^echo me$/m);
  const closed = await agent.client.failure('writeStdin', { containerId: 'c2', execId: 'cat', data: 'eA==' });
  assert.equal(closed.code, 'FAILED_PRECONDITION');

  const running = await agent.client.failure('deleteContainer', { containerId: 'c2' });
  assert.equal(running.code, 'FAILED_PRECONDITION');
  assert.match(running.message, /init/);
  const dup = await agent.client.failure('startProcess', { containerId: 'c2', execId: 'init' });
  assert.equal(dup.code, 'ALREADY_EXISTS');

  await agent.client.request('signal', { containerId: 'c2', execId: 'init', signal: 'SIGTERM' });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c2', execId: 'init' }), { exitCode: 42 });
  assert.match(agent.client.output('c2', 'init'), /got-term/);
  const gone = await agent.client.failure('signal', { containerId: 'c2', execId: 'init', signal: 'SIGKILL' });
  assert.equal(gone.code, 'FAILED_PRECONDITION');
  await agent.client.request('deleteContainer', { containerId: 'c2' });
});

test('delete with force kills what still runs; SIGKILL is reported as 137', { skip }, async () => {
  const rootfs = '/run/passvol/containers/c3/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  await agent.client.request('createContainer', { containerId: 'c3', rootfs, process: { args: ['/bin/sleep', '1000'], uid: 0, gid: 0 } });
  const early = await agent.client.failure('startProcess', { containerId: 'c3', execId: 'early', process: { args: ['/bin/true'], uid: 0, gid: 0 } });
  assert.equal(early.code, 'FAILED_PRECONDITION', 'no exec before the init runs inside the rootfs');
  await agent.client.request('startProcess', { containerId: 'c3', execId: 'init' });
  await agent.client.request('startProcess', { containerId: 'c3', execId: 'true', process: { args: ['/bin/true'], uid: 0, gid: 0, env: ['A=1'], cwd: '/' } });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c3', execId: 'true' }), { exitCode: 0 });
  await agent.client.request('deleteContainer', { containerId: 'c3', force: true });
  const ev = await agent.client.waitFor(exitOf('c3', 'init'));
  assert.equal(ev.event === 'exit' && ev.exitCode, 137);
  assert.equal(ev.event === 'exit' && ev.signal, 'SIGKILL');
  // After delete the volume is free again.
  await agent.client.request('unmount', { target: VOLUME });
  await agent.client.request('mount', { source: { kind: 'block', serial: data.serial }, target: VOLUME, fstype: 'ext4' });
});

test("the spec's kernel filesystems (sysfs, cgroup2, devpts, mqueue, a sized tmpfs) are mounted in order, and gone after delete", { skip }, async () => {
  const rootfs = '/run/passvol/containers/c4/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  await agent.client.request('createContainer', {
    containerId: 'c4',
    rootfs,
    mounts: [
      { fstype: 'sysfs', destination: '/sys', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { fstype: 'cgroup2', destination: '/sys/fs/cgroup', options: ['ro'] },
      { fstype: 'devpts', destination: '/dev/pts', options: ['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { fstype: 'mqueue', destination: '/dev/mqueue', options: [] },
      { fstype: 'tmpfs', destination: '/scratch', options: ['size=1m', 'mode=0750'] },
      { source: VOLUME, destination: '/scratch/data', readonly: true },
    ],
    process: { args: ['/bin/sh', '-c', 'cat /proc/mounts; df -k /scratch | tail -1; ls -l /dev/ptmx; touch /sys/x 2>/dev/null && echo sys-writable || echo sys-ro; ls /scratch/data >/dev/null && echo data-seen'], uid: 0, gid: 0 },
  });
  await agent.client.request('startProcess', { containerId: 'c4', execId: 'init' });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c4', execId: 'init' }), { exitCode: 0 });
  const out = agent.client.output('c4', 'init');
  assert.match(out, /^sysfs \/sys sysfs ro,nosuid,nodev,noexec/m);
  assert.match(out, /^cgroup2 \/sys\/fs\/cgroup cgroup2 ro,nosuid,nodev/m);
  assert.match(out, /^devpts \/dev\/pts devpts rw,nosuid,.*gid=5,mode=620,ptmxmode=666/m);
  assert.match(out, /^mqueue \/dev\/mqueue mqueue rw,nosuid,nodev/m);
  assert.match(out, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,.*size=1024k,mode=750/m);
  assert.match(out, /^\S+ \/scratch\/data ext4 ro,/m, 'a bind below a tmpfs lands on the tmpfs, in spec order');
  assert.match(out, /\/dev\/ptmx -> pts\/ptmx$/m);
  assert.match(out, /^sys-ro$/m);
  assert.match(out, /^data-seen$/m);
  await agent.client.request('deleteContainer', { containerId: 'c4' });
  const left = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes('/containers/c4/'));
  assert.deepEqual(left, []);

  const bad = await agent.client.failure('createContainer', {
    containerId: 'c5', rootfs, mounts: [{ fstype: 'tmpfs', destination: '/t', options: ['exec'] }], process: { args: ['/bin/true'], uid: 0, gid: 0 },
  });
  assert.equal(bad.code, 'INVALID_ARGUMENT');
  assert.match(bad.message, /"exec" is not allowed for a tmpfs mount/);
});

test('a read-only root (OCI root.readonly): the root refuses writes, its volumes and /dev/shm do not, the working directory is made first', { skip }, async () => {
  const rootfs = '/run/passvol/containers/c6/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  const script = 'touch /x 2>/dev/null && echo root-writable || echo root-ro; echo ok > /data/from-ro-root && echo data-ok; touch /dev/shm/y && echo shm-ok; echo "cwd=$(pwd)"; grep " / " /proc/mounts | head -1';
  await agent.client.request('createContainer', {
    containerId: 'c6',
    rootfs,
    rootfsReadonly: true,
    mounts: [{ source: VOLUME, destination: '/data', readonly: false }],
    process: { args: ['/bin/sh', '-c', script], cwd: '/made/for/init', uid: 0, gid: 0 },
  });
  await agent.client.request('startProcess', { containerId: 'c6', execId: 'init' });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c6', execId: 'init' }), { exitCode: 0 });
  const out = agent.client.output('c6', 'init');
  assert.match(out, /^root-ro$/m);
  assert.match(out, /^data-ok$/m);
  assert.match(out, /^shm-ok$/m);
  assert.match(out, /^cwd=\/made\/for\/init$/m);
  await agent.client.request('deleteContainer', { containerId: 'c6' });
  const left = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes('/containers/c6/'));
  assert.deepEqual(left, [], 'the root bind is undone with the rest');
});

test('signal with all reaches every process in the container, not only its init (runc kill --all)', { skip }, async () => {
  const rootfs = '/run/passvol/containers/c7/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  // The init is PID 1 of its namespace: it ignores SIGTERM (no handler), so only --all ends its children.
  await agent.client.request('createContainer', { containerId: 'c7', rootfs, process: { args: ['/bin/sh', '-c', 'sleep 300 & sleep 301 & wait; echo children-gone'], uid: 0, gid: 0 } });
  await agent.client.request('startProcess', { containerId: 'c7', execId: 'init' });
  await new Promise((r) => setTimeout(r, 300));
  await agent.client.request('signal', { containerId: 'c7', execId: 'init', signal: 'SIGTERM', all: true });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c7', execId: 'init' }), { exitCode: 0 });
  assert.match(agent.client.output('c7', 'init'), /children-gone/);
  await agent.client.request('deleteContainer', { containerId: 'c7' });
});

test("an exec's working directory is in the container's own mount tree: '..' from it stops at the container's root", { skip }, async () => {
  const rootfs = '/run/passvol/containers/c8/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  // Beside the rootfs, in the agent's tree: what an exec must never reach.
  await writeFile(join(agent.root, '/run/passvol/containers/c8/outside'), 'not for the container\n');
  await agent.client.request('createContainer', { containerId: 'c8', rootfs, process: { args: ['/bin/sleep', '300'], uid: 0, gid: 0 } });
  await agent.client.request('startProcess', { containerId: 'c8', execId: 'init' });
  for (const cwd of ['/', '/bin']) {
    const execId = `peek${cwd.length}`;
    await agent.client.request('startProcess', { containerId: 'c8', execId, process: { args: ['/bin/sh', '-c', 'cat ../outside ../../outside ../../../outside 2>/dev/null; echo "at $(pwd)"'], cwd, uid: 0, gid: 0 } });
    await agent.client.request('wait', { containerId: 'c8', execId });
    const out = agent.client.output('c8', execId);
    assert.doesNotMatch(out, /not for the container/, `from ${cwd}`);
    assert.match(out, new RegExp(`^at ${cwd}$`, 'm'));
  }
  await agent.client.request('deleteContainer', { containerId: 'c8', force: true });
});

test('a terminal (kubectl exec -it, tty: true): one pty for stdin, stdout and stderr, input echoed, end of input as end-of-file, and the size the runtime sets', { skip }, async () => {
  const rootfs = '/run/passvol/containers/c9/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  const init = '[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; while read line; do echo "read $line"; done; echo eof; echo to-stderr >&2; exit 5';
  await agent.client.request('createContainer', { containerId: 'c9', rootfs, process: { args: ['/bin/sh', '-c', init], uid: 0, gid: 0, terminal: true } });
  await agent.client.request('startProcess', { containerId: 'c9', execId: 'init' });
  await agent.client.waitFor(() => (agent.client.output('c9', 'init').includes('all-tty') ? true : undefined));
  await agent.client.request('writeStdin', { containerId: 'c9', execId: 'init', data: Buffer.from('hello\n').toString('base64') });
  await agent.client.waitFor(() => (agent.client.output('c9', 'init').includes('read hello') ? true : undefined));
  assert.match(agent.client.output('c9', 'init'), /^hello\r$/m, 'the terminal echoes what was typed');

  // An exec with a terminal of a given size (set before it runs), then resized as a client's window is: the
  // process hears SIGWINCH. It alone gets Ctrl-C (it leads the terminal's session): it traps it and goes on.
  await agent.client.request('startProcess', {
    containerId: 'c9',
    execId: 'sized',
    process: {
      args: ['/bin/sh', '-c', 'trap \'echo "winch $(stty size)"\' WINCH; trap "echo caught-int" INT; echo "size $(stty size)"; while [ ! -e /tmp/stop ]; do sleep 0.05; done; echo stopped'],
      uid: 0,
      gid: 0,
      terminal: true,
      terminalSize: { rows: 40, cols: 120 },
    },
  });
  await agent.client.waitFor(() => (agent.client.output('c9', 'sized').includes('size 40 120') ? true : undefined));
  await agent.client.request('resizeTerminal', { containerId: 'c9', execId: 'sized', rows: 50, cols: 132 });
  await agent.client.waitFor(() => (agent.client.output('c9', 'sized').includes('winch 50 132') ? true : undefined));
  await agent.client.request('writeStdin', { containerId: 'c9', execId: 'sized', data: Buffer.from('\x03').toString('base64') });
  await agent.client.waitFor(() => (agent.client.output('c9', 'sized').includes('caught-int') ? true : undefined));
  await writeFile(join(agent.root, rootfs, 'tmp/stop'), '');
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c9', execId: 'sized' }), { exitCode: 0 }, 'Ctrl-C did not end the launcher');
  assert.match(agent.client.output('c9', 'sized'), /stopped/);
  // A terminal no one types at: it is never closed, so the shell waits as at a console.
  await agent.client.request('startProcess', { containerId: 'c9', execId: 'idle', process: { args: ['/bin/sh', '-c', 'read line; echo "read $?"'], uid: 0, gid: 0, terminal: true } });
  await new Promise((r) => setTimeout(r, 500));
  assert.doesNotMatch(agent.client.output('c9', 'idle'), /read/, 'still waiting for input');
  await agent.client.request('signal', { containerId: 'c9', execId: 'idle', signal: 'SIGKILL' });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c9', execId: 'idle' }), { exitCode: 137 }, 'its signal death comes back through script');
  const plain = await agent.client.request('startProcess', { containerId: 'c9', execId: 'plain', process: { args: ['/bin/sleep', '5'], uid: 0, gid: 0 } });
  assert.ok(plain.pid > 0);
  const noTty = await agent.client.failure('resizeTerminal', { containerId: 'c9', execId: 'plain', rows: 10, cols: 10 });
  assert.equal(noTty.code, 'FAILED_PRECONDITION');

  // End of input reaches the shell as end-of-file; stderr came through the terminal too.
  await agent.client.request('closeStdin', { containerId: 'c9', execId: 'init' });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c9', execId: 'init' }), { exitCode: 5 });
  assert.match(agent.client.output('c9', 'init'), /eof\r\nto-stderr\r\n/);
  assert.equal(agent.client.output('c9', 'init', 'stderr'), '');
  await agent.client.request('deleteContainer', { containerId: 'c9', force: true });
});

test("an exec gets exactly the environment it is given (names that are not shell identifiers, and names the launcher's shell uses, pass untouched), and its container's noNewPrivileges", { skip }, async () => {
  const rootfs = '/run/passvol/containers/c10/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  await agent.client.request('createContainer', { containerId: 'c10', rootfs, process: { args: ['/bin/sleep', '60'], uid: 0, gid: 0, noNewPrivileges: true } });
  await agent.client.request('startProcess', { containerId: 'c10', execId: 'init' });
  const env = ['my.var=1', 'A-B=2', 'CG=mine', 'OOM=x', 'SHELL=/bin/nothing', 'EMPTY='];
  await agent.client.request('startProcess', { containerId: 'c10', execId: 'env', process: { args: ['/bin/busybox', 'env'], env, uid: 0, gid: 0 } });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c10', execId: 'env' }), { exitCode: 0 });
  assert.deepEqual(agent.client.output('c10', 'env').trim().split('\n').sort(), [...env].sort());
  // The container's noNewPrivileges (allowPrivilegeEscalation: false) holds for its execs too.
  await agent.client.request('startProcess', { containerId: 'c10', execId: 'nnp', process: { args: ['/bin/grep', 'NoNewPrivs', '/proc/self/status'], uid: 1000, gid: 1000 } });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c10', execId: 'nnp' }), { exitCode: 0 });
  assert.match(agent.client.output('c10', 'nnp'), /^NoNewPrivs:\s+1$/m);
  assert.match(await readFile(`/proc/${agent.child.pid}/status`, 'utf8'), /^NoNewPrivs:\s+0$/m, 'the agent itself has it not: it came from the container');
  await agent.client.request('deleteContainer', { containerId: 'c10', force: true });
});

test("a container keeps only its capabilities (OCI process.capabilities): its bounding set for every process, and a process of another user than root none beyond it", { skip: skip || (!existsSync(CAPS_EXEC) && `the capability helper is not built (${CAPS_EXEC}): run scripts/install-go-tools.sh`) }, async () => {
  const rootfs = '/run/passvol/containers/c11/rootfs';
  await makeBusyboxRootfs(agent, rootfs);
  const caps = ['CAP_CHOWN', 'CAP_KILL'];
  await agent.client.request('createContainer', {
    containerId: 'c11',
    rootfs,
    process: { args: ['/bin/sh', '-c', 'grep Cap /proc/self/status; exec sleep 60'], uid: 0, gid: 0, capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] } },
  });
  await agent.client.request('startProcess', { containerId: 'c11', execId: 'init' });
  await agent.client.waitFor(() => (agent.client.output('c11', 'init').includes('CapAmb') ? true : undefined));
  const init = agent.client.output('c11', 'init');
  assert.match(init, /^CapBnd:\s+0000000000000021$/m, init);
  assert.match(init, /^CapEff:\s+0000000000000021$/m);
  // An exec as root takes the container's; one as another user has none.
  for (const [execId, uid, eff] of [['root', 0, '0000000000000021'], ['user', 1000, '0000000000000000']] as const) {
    await agent.client.request('startProcess', { containerId: 'c11', execId, process: { args: ['/bin/grep', 'Cap', '/proc/self/status'], uid, gid: uid } });
    assert.deepEqual(await agent.client.request('wait', { containerId: 'c11', execId }), { exitCode: 0 });
    assert.match(agent.client.output('c11', execId), new RegExp(`^CapEff:\\s+${eff}$`, 'm'), execId);
    assert.match(agent.client.output('c11', execId), /^CapBnd:\s+0000000000000021$/m, 'the bounding set is the container\'s for every process');
  }
  // The helper's descriptor does not follow into the program.
  await agent.client.request('startProcess', { containerId: 'c11', execId: 'fds', process: { args: ['/bin/ls', '-l', '/proc/self/fd/'], uid: 0, gid: 0 } });
  assert.deepEqual(await agent.client.request('wait', { containerId: 'c11', execId: 'fds' }), { exitCode: 0 });
  assert.doesNotMatch(agent.client.output('c11', 'fds'), /caps-exec/, agent.client.output('c11', 'fds'));
  await agent.client.request('deleteContainer', { containerId: 'c11', force: true });
});
