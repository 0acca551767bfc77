import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ContainerInfo, SandboxDeps } from '../sandbox/sandbox.js';
import type { ContainerResources, ContainerStatsResult } from '../../protocol/index.js';
import { codec, protoType } from './messages.js';
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID, TASK_SERVICE, TaskService, type PodSandbox } from './task-service.js';
import { Code, type TtrpcError } from './ttrpc.js';

/** A sandbox that records what it is asked and lets the test end its processes. */
class FakeSandbox implements PodSandbox {
  readonly vmPid = 4242;
  readonly calls: string[] = [];
  readonly added = new Set<string>();
  /** Resolves a container's init, by container ('main' for the sandbox's own). */
  readonly exits = new Map<string, (code: number) => void>();
  startGate: Promise<void> = Promise.resolve();
  failAdd = false;
  private execExit: ((code: number) => void) | undefined;

  constructor(readonly id: string) {}

  async start(onOutput: (s: 'stdout' | 'stderr', d: Buffer) => void, container?: string): Promise<number> {
    await this.startGate;
    this.calls.push(`start ${container ?? 'main'}`);
    onOutput('stdout', Buffer.from('hello\n'));
    return 7;
  }
  wait(container?: string): Promise<number> {
    return new Promise((resolve) => this.exits.set(container ?? 'main', resolve));
  }
  async kill(signal: string | number, container?: string): Promise<void> {
    this.calls.push(`kill ${container ?? 'main'} ${signal}`);
    this.exits.get(container ?? 'main')?.(128 + Number(signal));
  }
  async signalExec(execId: string, signal: string | number): Promise<void> {
    this.calls.push(`signal ${execId} ${signal}`);
    this.execExit?.(128 + Number(signal));
  }
  async stdin(data: Buffer | 'end', container?: string): Promise<void> {
    this.calls.push(`stdin ${container ?? 'main'} ${data === 'end' ? '<end>' : data.toString()}`);
  }
  exec(args: string[], o: { cwd?: string; env?: readonly string[]; user?: { uid: number; gid: number }; terminal?: unknown } = {}, _out?: unknown, onStarted?: (id: string) => void): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    this.calls.push(`exec ${args.join(' ')} cwd=${o.cwd} env=${o.env?.join(',')} user=${o.user?.uid}:${o.user?.gid}${o.terminal ? ` terminal=${JSON.stringify(o.terminal)}` : ''}`);
    return new Promise((resolve) => {
      this.execExit = (exitCode) => resolve({ exitCode, stdout: '', stderr: '' });
      onStarted?.('x1');
    });
  }
  async execStdin(): Promise<void> {}
  async addContainer(id: string): Promise<void> {
    this.added.add(id);
    this.calls.push(`add ${id}`);
    if (this.failAdd) throw new Error('the hot-plug failed, and so did its undo');
  }
  async removeContainer(id: string): Promise<void> {
    this.added.delete(id);
    this.calls.push(`remove ${id}`);
  }
  listContainers(): ContainerInfo[] {
    return [...this.added].map((id) => ({ id, bundle: '/b', status: 'running', createdAt: '' }));
  }
  async updateContainer(resources: ContainerResources, container?: string): Promise<void> {
    this.calls.push(`update ${container ?? 'main'} ${JSON.stringify(resources)}`);
  }
  /** Containers the kernel OOM-killed in. */
  readonly oomKilled = new Set<string>();
  async freezeContainer(frozen: boolean, container?: string): Promise<void> {
    this.calls.push(`${frozen ? 'freeze' : 'thaw'} ${container ?? 'main'}`);
  }
  async resizeTerminal(rows: number, cols: number, container?: string, execId?: string): Promise<void> {
    this.calls.push(`resize ${container ?? 'main'} ${execId ?? '-'} ${rows}x${cols}`);
  }
  async stats(container?: string): Promise<ContainerStatsResult> {
    if (container === 'no-cgroup') throw new Error('container "no-cgroup" has no cgroup');
    const oomKill = this.oomKilled.has(container ?? 'main') ? 1 : 0;
    const zero = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, 0]));
    return {
      cpu: { usageUsec: 1500, userUsec: 1000, systemUsec: 500, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0 },
      memory: { ...zero(['anon', 'file', 'kernelStack', 'slab', 'sock', 'shmem', 'fileMapped', 'fileDirty', 'inactiveAnon', 'activeAnon', 'activeFile', 'unevictable', 'pgfault', 'pgmajfault']), usage: 9 << 20, limit: 64 << 20, inactiveFile: 1 << 20 } as ContainerStatsResult['memory'],
      memoryEvents: { low: 0, high: 0, max: 2, oom: oomKill, oomKill },
      pids: { current: 3, limit: 0 },
    };
  }
  async destroy(): Promise<void> {
    this.calls.push('destroy');
  }
}

const C = {
  create: codec<Record<string, unknown>>(protoType('CreateTaskRequest')),
  createRes: codec<{ pid: number }>(protoType('CreateTaskResponse')),
  ref: codec<{ id: string; exec_id?: string }>(protoType('TaskRef')),
  kill: codec<{ id: string; exec_id?: string; signal: number; all?: boolean }>(protoType('KillRequest')),
  exec: codec<Record<string, unknown>>(protoType('ExecProcessRequest')),
  state: codec<{ status: number; pid: number; exit_status: number }>(protoType('StateResponse')),
  wait: codec<{ exit_status: number }>(protoType('WaitResponse')),
  del: codec<{ exit_status: number; pid: number }>(protoType('DeleteResponse')),
  shutdown: codec<{ id: string }>(protoType('ShutdownRequest')),
  stats: codec<{ stats: { type_url: string; value: Buffer } }>(protoType('StatsResponse')),
  update: codec<{ id: string; resources: { type_url: string; value: Buffer } }>(protoType('UpdateTaskRequest')),
  resize: codec<{ id: string; exec_id?: string; width: number; height: number }>(protoType('ResizePtyRequest')),
  metrics: codec<{ cpu: Record<string, number>; memory: Record<string, number>; memory_events: Record<string, number>; pids: Record<string, number> }>(protoType('CgroupMetrics')),
};

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-tasks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sandboxes: FakeSandbox[] = [];
  const events: string[] = [];
  let idle = 0;
  let failCreate = false;
  const service = new TaskService({
    namespace: 'k8s.io',
    sandboxDeps: async () => ({}) as SandboxDeps,
    createSandbox: async (id) => {
      if (failCreate) throw new Error('the VM did not boot');
      const sb = new FakeSandbox(id);
      sandboxes.push(sb);
      return sb;
    },
    exec: { run: async () => ({ stdout: '', stderr: '', code: 0 }) },
    log: pino({ level: 'silent' }),
    publish: (topic) => void events.push(topic),
    onIdle: () => void idle++,
    version: 'test',
  });
  const handlers = service.handlers();
  const call = async (method: string, payload: Buffer): Promise<Buffer> => {
    const h = handlers[`${TASK_SERVICE}/${method}`];
    assert.ok(h, method);
    return h(payload, { metadata: {}, connection: 1 });
  };
  const bundle = (name: string, annotations: Record<string, string> = {}) => {
    const b = join(dir, name);
    mkdirSync(join(b, 'rootfs'), { recursive: true });
    writeFileSync(join(b, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['/bin/sleep', '600'], env: ['PATH=/bin'], cwd: '/' }, root: { path: 'rootfs' }, annotations }));
    return b;
  };
  const create = async (id: string, annotations: Record<string, string> = {}) => C.createRes.decode(await call('Create', C.create.encode({ id, bundle: bundle(id, annotations) }))).pid;
  const state = async (id: string, exec_id = '') => C.state.decode(await call('State', C.ref.encode({ id, exec_id })));
  const kill = (id: string, signal: number, exec_id = '') => call('Kill', C.kill.encode({ id, exec_id, signal }));
  const wait = async (id: string, exec_id = '') => C.wait.decode(await call('Wait', C.ref.encode({ id, exec_id }))).exit_status;
  const del = async (id: string, exec_id = '') => C.del.decode(await call('Delete', C.ref.encode({ id, exec_id })));
  const fails = async (p: Promise<unknown>, code: number, message?: RegExp) => {
    await assert.rejects(p, (e: TtrpcError) => e.code === code && (!message || message.test(e.message)));
  };
  return { service, call, create, state, kill, wait, del, fails, sandboxes, events, idle: () => idle, failCreates: () => void (failCreate = true) };
}

test('a task from Create to Delete: the VM pid, stdin ended when there is none, SIGTERM, the exit, the teardown, and Shutdown once none is left', async (t) => {
  const s = setup(t);
  assert.equal(await s.create('t1'), 4242);
  assert.equal((await s.state('t1')).status, 1, 'CREATED');
  await s.call('Start', C.ref.encode({ id: 't1' }));
  const sb = s.sandboxes[0]!;
  assert.deepEqual(sb.calls, ['start main', 'stdin main <end>'], 'a process without stdin reads EOF at once');
  assert.equal((await s.state('t1')).status, 2, 'RUNNING');
  await s.fails(s.del('t1'), Code.FAILED_PRECONDITION, /running/);
  const waited = s.wait('t1');
  await s.kill('t1', 15);
  assert.equal(await waited, 143);
  const st = await s.state('t1');
  assert.deepEqual([st.status, st.exit_status, st.pid], [3, 143, 4242]);
  await s.kill('t1', 9);
  await s.fails(s.kill('t1', 10), Code.NOT_FOUND, /already finished/);
  const deleted = await s.del('t1');
  assert.deepEqual([deleted.pid, deleted.exit_status], [4242, 143]);
  assert.ok(sb.calls.includes('destroy'));
  await s.fails(s.state('t1'), Code.NOT_FOUND);
  await s.call('Shutdown', C.shutdown.encode({ id: 't1' }));
  await new Promise((r) => setImmediate(r));
  assert.equal(s.idle(), 1);
  assert.deepEqual(s.events, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
});

test('Kill on a task never started ends its Wait (137) for a stop signal, and is a no-op for others; bad signals are refused', async (t) => {
  const s = setup(t);
  await s.create('t1');
  await s.kill('t1', 10);
  assert.equal((await s.state('t1')).status, 1);
  await s.fails(s.kill('t1', 0), Code.INVALID_ARGUMENT);
  await s.fails(s.kill('t1', 65), Code.INVALID_ARGUMENT);
  await s.fails(s.kill('nope', 9), Code.NOT_FOUND);
  const waited = s.wait('t1');
  await s.kill('t1', 9);
  assert.equal(await waited, 137);
  await s.fails(s.call('Start', C.ref.encode({ id: 't1' })), Code.FAILED_PRECONDITION);
});

test('a Kill during Start waits for the Start, then reaches the process it started', async (t) => {
  const s = setup(t);
  await s.create('t1');
  let release: () => void = () => undefined;
  s.sandboxes[0]!.startGate = new Promise((r) => (release = r));
  const started = s.call('Start', C.ref.encode({ id: 't1' }));
  await new Promise((r) => setImmediate(r));
  const killed = s.kill('t1', 9);
  await s.fails(s.call('Start', C.ref.encode({ id: 't1' })), Code.FAILED_PRECONDITION, /started already/);
  release();
  await started;
  await killed;
  assert.deepEqual(s.sandboxes[0]!.calls.filter((c) => !c.startsWith('stdin')), ['start main', 'kill main 9']);
  assert.equal(await s.wait('t1'), 137);
});

test("a pod: its container joins the sandbox's VM; the sandbox's delete ends the VM, and the container stays listed, stopped, until deleted", async (t) => {
  const s = setup(t);
  const pod = { [CRI_SANDBOX_ID]: 'p'.repeat(64) };
  assert.equal(await s.create('p'.repeat(64), { ...pod, [CRI_CONTAINER_TYPE]: 'sandbox' }), 4242);
  assert.equal(s.sandboxes[0]!.id.length, 32, "a CRI id is shortened for the sandbox's folder");
  assert.equal(await s.create('c1', { ...pod, [CRI_CONTAINER_TYPE]: 'container' }), 4242, "the container reports the pod's VM");
  assert.equal(s.sandboxes.length, 1);
  await s.fails(s.create('c2', { [CRI_SANDBOX_ID]: 'other', [CRI_CONTAINER_TYPE]: 'container' }), Code.FAILED_PRECONDITION, /does not run/);
  await s.call('Start', C.ref.encode({ id: 'c1' }));
  await s.kill('p'.repeat(64), 9);
  await s.del('p'.repeat(64));
  assert.ok(s.sandboxes[0]!.calls.includes('destroy'));
  assert.equal((await s.state('c1')).status, 3, 'the container ended with the VM');
  assert.equal(await s.wait('c1'), 137);
  await s.del('c1');
  assert.ok(!s.sandboxes[0]!.calls.includes('remove c1'), 'nothing left to remove from a VM that is gone');
  await s.fails(s.state('c1'), Code.NOT_FOUND);
});

test('a failed Create leaves nothing: not the sandbox, not a half-added container', async (t) => {
  const s = setup(t);
  await s.create('pod', { [CRI_SANDBOX_ID]: 'pod', [CRI_CONTAINER_TYPE]: 'sandbox' });
  s.sandboxes[0]!.failAdd = true;
  await assert.rejects(s.create('c1', { [CRI_SANDBOX_ID]: 'pod', [CRI_CONTAINER_TYPE]: 'container' }));
  assert.deepEqual(s.sandboxes[0]!.calls, ['add c1', 'remove c1']);
  await s.fails(s.state('c1'), Code.NOT_FOUND);
  s.failCreates();
  await assert.rejects(s.create('t2'), /did not boot/);
  await s.fails(s.state('t2'), Code.NOT_FOUND);
});

test('an exec: its spec reaches the sandbox, Kill signals it by its own id, and Wait and Delete see its end', async (t) => {
  const s = setup(t);
  await s.create('t1');
  await s.call('Start', C.ref.encode({ id: 't1' }));
  const spec = (o: unknown) => ({ type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify(o)) });
  await s.fails(s.call('Exec', C.exec.encode({ id: 't1', exec_id: 'e0', spec: { type_url: 'x', value: Buffer.from('{') } })), Code.INVALID_ARGUMENT, /not JSON/);
  await s.fails(s.call('Exec', C.exec.encode({ id: 't1', exec_id: 'e0', spec: spec({ args: [] }) })), Code.INVALID_ARGUMENT, /names no program/);
  await s.call('Exec', C.exec.encode({ id: 't1', exec_id: 'e1', spec: spec({ args: ['/bin/sh', '-c', 'sleep 9'], env: ['A=b'], cwd: '/tmp', user: { uid: 5, gid: 6 } }) }));
  await s.fails(s.call('Exec', C.exec.encode({ id: 't1', exec_id: 'e1', spec: spec({ args: ['/bin/true'] }) })), Code.ALREADY_EXISTS);
  await s.call('Start', C.ref.encode({ id: 't1', exec_id: 'e1' }));
  const sb = s.sandboxes[0]!;
  assert.ok(sb.calls.includes('exec /bin/sh -c sleep 9 cwd=/tmp env=A=b user=5:6'), sb.calls.join('\n'));
  const waited = s.wait('t1', 'e1');
  await s.kill('t1', 2, 'e1');
  assert.ok(sb.calls.includes('signal x1 2'), 'signalled by its id in the sandbox');
  assert.equal(await waited, 130);
  assert.equal((await s.del('t1', 'e1')).exit_status, 130);
  assert.equal((await s.state('t1')).status, 2, 'the task runs on');
});

test("Stats answers the container's cgroup figures as containerd's cgroup v2 Metrics", async (t) => {
  const s = setup(t);
  await s.create('t1');
  s.sandboxes[0]?.oomKilled.add('main');
  const res = C.stats.decode(await s.call('Stats', C.ref.encode({ id: 't1' })));
  assert.equal(res.stats.type_url, 'io.containerd.cgroups.v2.Metrics');
  const m = C.metrics.decode(res.stats.value);
  assert.deepEqual(m.cpu, { usage_usec: 1500, user_usec: 1000, system_usec: 500, nr_periods: 0, nr_throttled: 0, throttled_usec: 0 });
  assert.equal(m.memory.usage, 9 << 20);
  assert.equal(m.memory.usage_limit, 64 << 20);
  assert.equal(m.memory.inactive_file, 1 << 20);
  assert.equal(m.memory_events.oom_kill, 1);
  assert.equal(m.memory_events.oom, 1);
  assert.deepEqual(m.pids, { current: 3, limit: 0 });
  // A task the agent has no figures for, and one that does not exist: CRI skips NotFound.
  await s.create('no-cgroup', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 't1' });
  await s.fails(s.call('Stats', C.ref.encode({ id: 'no-cgroup' })), Code.NOT_FOUND, /has no cgroup/);
  await s.fails(s.call('Stats', C.ref.encode({ id: 'gone' })), Code.NOT_FOUND);
});

test("Update sets the container's new limits from CRI's LinuxResources; anything else is INVALID_ARGUMENT and changes nothing", async (t) => {
  const s = setup(t);
  await s.create('t1');
  const update = (resources: unknown, type_url = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources') =>
    s.call('Update', C.update.encode({ id: 't1', resources: { type_url, value: Buffer.from(typeof resources === 'string' ? resources : JSON.stringify(resources)) } }));
  await update({ memory: { limit: 64 << 20, swap: 64 << 20 }, cpu: { quota: 50000, period: 100000, shares: 256, cpus: '' } });
  assert.deepEqual(s.sandboxes[0]?.calls.at(-1), `update main ${JSON.stringify({ memoryLimitBytes: 64 << 20, cpuQuotaMicros: 50000, cpuPeriodMicros: 100000, cpuShares: 256 })}`);
  const calls = s.sandboxes[0]?.calls.length;
  await s.fails(update('{'), Code.INVALID_ARGUMENT, /not JSON/);
  await s.fails(update({ memory: { limit: '1G' } }), Code.INVALID_ARGUMENT, /memory\.limit/);
  await s.fails(update({ cpu: { quota: 1000, period: 10 } }), Code.INVALID_ARGUMENT, /cpu\.period 10 is outside/);
  await s.fails(update({}, 'types.containerd.io/something/Else'), Code.INVALID_ARGUMENT, /LinuxResources/);
  assert.equal(s.sandboxes[0]?.calls.length, calls, 'nothing reached the sandbox');
});

test("Pause and Resume freeze and thaw the task's container, say so in State and in events, and are refused out of turn", async (t) => {
  const s = setup(t);
  await s.create('t1');
  await s.fails(s.call('Pause', C.ref.encode({ id: 't1' })), Code.FAILED_PRECONDITION, /not running/);
  await s.call('Start', C.ref.encode({ id: 't1' }));
  await s.call('Pause', C.ref.encode({ id: 't1' }));
  assert.equal((await s.state('t1')).status, 4, 'PAUSED');
  const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['/bin/true'] })) };
  await s.fails(s.call('Exec', C.exec.encode({ id: 't1', exec_id: 'e1', spec })), Code.FAILED_PRECONDITION, /paused/);
  await s.fails(s.call('Pause', C.ref.encode({ id: 't1' })), Code.FAILED_PRECONDITION, /paused already/);
  await s.call('Resume', C.ref.encode({ id: 't1' }));
  assert.equal((await s.state('t1')).status, 2, 'RUNNING');
  await s.fails(s.call('Resume', C.ref.encode({ id: 't1' })), Code.FAILED_PRECONDITION, /not paused/);
  assert.deepEqual(s.sandboxes[0]?.calls.filter((c) => /^(freeze|thaw)/.test(c)), ['freeze main', 'thaw main']);
  assert.deepEqual(s.events.filter((e) => /paused|resumed/.test(e)), ['/tasks/paused', '/tasks/resumed']);
  // A paused task still dies of SIGKILL (the kernel kills frozen processes), and is then stopped, not paused.
  await s.call('Pause', C.ref.encode({ id: 't1' }));
  const waited = s.wait('t1');
  await s.kill('t1', 9);
  assert.equal(await waited, 137);
  assert.equal((await s.state('t1')).status, 3);
});

test('Checkpoint is UNIMPLEMENTED, a malformed request is INVALID_ARGUMENT', async (t) => {
  const s = setup(t);
  await s.fails(s.call('Checkpoint', Buffer.alloc(0)), Code.UNIMPLEMENTED);
  await s.fails(s.call('Create', Buffer.from([0xff, 0xff, 0xff])), Code.INVALID_ARGUMENT, /malformed/);
});

test('an exit after an OOM kill in the container sends /tasks/oom first (CRI says OOMKilled); one without, none', async (t) => {
  const s = setup(t);
  for (const [id, signal, oom] of [['t1', 9, true], ['t2', 9, false], ['t3', 15, true]] as const) {
    await s.create(id);
    if (oom) s.sandboxes.at(-1)?.oomKilled.add('main');
    await s.call('Start', C.ref.encode({ id }));
    const waited = s.wait(id);
    await s.kill(id, signal);
    assert.equal(await waited, 128 + signal);
    assert.deepEqual(s.events.slice(-2), [oom ? '/tasks/oom' : '/tasks/start', '/tasks/exit'], id);
  }
});

test("Stats' bytes are containerd's: field numbers of cgroup v2 Metrics (pids 1, memory 4 with usage 32, memory_events 8 with oom_kill 5)", () => {
  const bytes = C.metrics.encode({ pids: { current: 3 }, memory: { usage: 5 }, memory_events: { oom_kill: 1 } } as never);
  assert.equal(bytes.toString('hex'), '0a020803' + '2203800205' + '42022801');
});

test('a terminal: an exec with one asks the sandbox for it with its first size, and ResizePty reaches it by its id in the sandbox (0x0 is no size)', async (t) => {
  const s = setup(t);
  await s.create('t1');
  await s.call('Start', C.ref.encode({ id: 't1' }));
  const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ args: ['/bin/sh'], terminal: true, consoleSize: { height: 30, width: 100 } })) };
  await s.call('Exec', C.exec.encode({ id: 't1', exec_id: 'e1', terminal: true, spec }));
  // A size that comes before the start is kept and given at it (over the spec's).
  await s.call('ResizePty', C.resize.encode({ id: 't1', exec_id: 'e1', width: 90, height: 33 }));
  await s.call('Start', C.ref.encode({ id: 't1', exec_id: 'e1' }));
  const sb = s.sandboxes[0]!;
  assert.ok(sb.calls.includes('exec /bin/sh cwd=/ env= user=0:0 terminal={"rows":33,"cols":90}'), sb.calls.join('\n'));
  await s.call('ResizePty', C.resize.encode({ id: 't1', exec_id: 'e1', width: 132, height: 50 }));
  await s.call('ResizePty', C.resize.encode({ id: 't1', exec_id: 'e1', width: 0, height: 0 }));
  await s.call('ResizePty', C.resize.encode({ id: 't1', width: 80, height: 24 }));
  assert.deepEqual(sb.calls.filter((c) => c.startsWith('resize')), ['resize main x1 50x132', 'resize main - 24x80']);
});
