// containerd's task service (containerd.task.v2.Task) on passvol sandboxes: what lets containerd, and so
// Kubernetes through CRI, run pods in passvol VMs. One shim process serves a pod: the pod's sandbox task
// (CRI's pause container, or any task without CRI's annotations) boots the VM; the pod's other containers
// join it (Sandbox.addContainer), found by the sandbox id CRI puts in their annotations. As Kata's shim
// does, every pid reported is the VM's, and the sandbox task's exit stops the whole VM.
import { createHash } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ERROR_TABLE, toPassvolError } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import type { Logger } from '../../common/logger.js';
import { LinuxResourcesSchema, readBundle, type Bundle } from '../oci/bundle.js';
import { limitsOf } from '../sandbox/container-limits.js';
import type { ContainerResources } from '../../protocol/index.js';
import { Sandbox, type SandboxDeps } from '../sandbox/sandbox.js';
import { codec, protoType, toTimestamp, type Any, type Timestamp } from './messages.js';
import { ProcessIo, type IoPaths } from './process-io.js';
import { mountRootfs, unmountRootfs, type RootfsMount } from './rootfs.js';
import { Code, TtrpcError, type Handler } from './ttrpc.js';

export const TASK_SERVICE = 'containerd.task.v2.Task';
/** CRI's annotations (containerd's pkg/cri/annotations) that say what a task is in its pod. */
export const CRI_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
export const CRI_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';
/** In a sandbox task's bundle: the settings file its runtime options named, for a `delete` after the shim died. */
export const CONFIG_PATH_FILE = 'passvol-config-path';

/** Longest containerd id used as it is for a sandbox's id: its folder holds QEMU's unix sockets (107 bytes at most). */
const MAX_PLAIN_SANDBOX_ID = 32;

/**
 * The passvol sandbox id of a containerd task id: short ids as they are; a longer one (CRI's are 64 hex
 * digits) is cut to 20 characters plus 11 of its sha256, so that the sandbox's socket paths fit and two ids
 * that share a prefix still differ. `passvol list` shows it; its bundle path carries the full id.
 */
export function sandboxIdOf(taskId: string): string {
  if (taskId.length <= MAX_PLAIN_SANDBOX_ID) return taskId;
  return `${taskId.slice(0, 20)}-${createHash('sha256').update(taskId).digest('hex').slice(0, 11)}`;
}

/** containerd.v1.types.Status */
const Status = { UNKNOWN: 0, CREATED: 1, RUNNING: 2, STOPPED: 3, PAUSED: 4 } as const;
/** What a process killed for lack of anything better reports (128 + SIGKILL), as runc and Kata do. */
const KILLED = 137;

interface CreateTaskRequest extends IoPaths {
  id: string;
  bundle: string;
  rootfs: RootfsMount[];
  checkpoint: string;
  options: Any | null;
}
interface TaskRef {
  id: string;
  exec_id: string;
}
interface ExecProcessRequest extends TaskRef {
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  spec: Any | null;
}
interface KillRequest extends TaskRef {
  signal: number;
  all: boolean;
}
interface CloseIORequest extends TaskRef {
  stdin: boolean;
}
interface RuntimeOptions {
  type_url: string;
  config_path: string;
}

/** How long an exit waits to learn whether the container was OOM-killed. */
const OOM_CHECK_MS = 2000;
/** The type containerd's CRI decodes a task's cgroup v2 figures as. */
const CGROUP_V2_METRICS = 'io.containerd.cgroups.v2.Metrics';

const C = {
  CreateTaskRequest: codec<CreateTaskRequest>(protoType('CreateTaskRequest')),
  CreateTaskResponse: codec<{ pid: number }>(protoType('CreateTaskResponse')),
  TaskRef: codec<TaskRef>(protoType('TaskRef')),
  DeleteResponse: codec<{ pid: number; exit_status: number; exited_at: Timestamp | null }>(protoType('DeleteResponse')),
  ExecProcessRequest: codec<ExecProcessRequest>(protoType('ExecProcessRequest')),
  StateResponse: codec<Record<string, unknown>>(protoType('StateResponse')),
  KillRequest: codec<KillRequest>(protoType('KillRequest')),
  CloseIORequest: codec<CloseIORequest>(protoType('CloseIORequest')),
  PidsResponse: codec<{ processes: { pid: number }[] }>(protoType('PidsResponse')),
  StatsResponse: codec<{ stats: Any }>(protoType('StatsResponse')),
  ResizePtyRequest: codec<{ id: string; exec_id: string; width: number; height: number }>(protoType('ResizePtyRequest')),
  UpdateTaskRequest: codec<{ id: string; resources: Any | null; annotations: Record<string, string> }>(protoType('UpdateTaskRequest')),
  CgroupMetrics: codec<Record<string, unknown>>(protoType('CgroupMetrics')),
  StartResponse: codec<{ pid: number }>(protoType('StartResponse')),
  WaitResponse: codec<{ exit_status: number; exited_at: Timestamp | null }>(protoType('WaitResponse')),
  ConnectResponse: codec<{ shim_pid: number; task_pid: number; version: string }>(protoType('ConnectResponse')),
  ShutdownRequest: codec<{ id: string; now: boolean }>(protoType('ShutdownRequest')),
  RuntimeOptions: codec<RuntimeOptions>(protoType('RuntimeOptions')),
  Empty: codec<Record<string, never>>(protoType('Empty')),
};

/** The OCI Process containerd sends with an Exec (JSON in an Any). */
const ExecSpec = z.object({
  args: z.array(z.string()).min(1, 'the exec names no program'),
  env: z.array(z.string()).default([]),
  cwd: z.string().startsWith('/').default('/'),
  user: z.object({ uid: z.number().int().nonnegative(), gid: z.number().int().nonnegative() }).passthrough().default({ uid: 0, gid: 0 }),
  terminal: z.boolean().default(false),
  consoleSize: z.object({ height: z.number().int().nonnegative(), width: z.number().int().nonnegative() }).passthrough().optional(),
});

/** An exec's terminal as Sandbox.exec takes it: its first size, from a ResizePty before it ran or the spec. */
function terminalOf(spec: z.infer<typeof ExecSpec>, resized: { rows: number; cols: number } | undefined): { terminal?: { rows: number; cols: number } | true } {
  if (!spec.terminal) return {};
  const size = spec.consoleSize;
  return { terminal: resized ?? (size && size.height > 0 && size.width > 0 ? { rows: size.height, cols: size.width } : true) };
}

/** One process: a task's init or an exec. Its exit is a promise every Wait shares. */
class Proc {
  status: 'created' | 'running' | 'stopped' = 'created';
  /** An exec's id in the sandbox (not containerd's exec id), once it runs. */
  sandboxExecId: string | undefined;
  /** A terminal's size that came (ResizePty) before the process ran. */
  terminalSize: { rows: number; cols: number } | undefined;
  /** Set while a Start is in flight; settles when it has (whether it worked or not). */
  starting: Promise<unknown> | undefined;
  exitStatus = 0;
  exitedAt: Date | undefined;
  readonly exited: Promise<void>;
  private resolveExit: () => void = () => undefined;

  constructor(
    readonly execId: string,
    readonly io: ProcessIo,
    readonly spec?: z.infer<typeof ExecSpec>,
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  exit(status: number): void {
    if (this.status === 'stopped') return;
    this.status = 'stopped';
    this.exitStatus = status;
    this.exitedAt = new Date();
    this.io.close();
    this.resolveExit();
  }
}

interface Task {
  id: string;
  bundle: string;
  /** The pod's sandbox task: this task's own id when it is the sandbox. */
  sandboxId: string;
  init: Proc;
  execs: Map<string, Proc>;
  rootfsMounted: boolean;
  /** Frozen by Pause (its container's cgroup in the guest), until Resume or its end. */
  paused?: boolean;
}

/** What the task service uses of a sandbox. */
export type PodSandbox = Pick<
  Sandbox,
  'id' | 'vmPid' | 'start' | 'wait' | 'kill' | 'signalExec' | 'stdin' | 'exec' | 'execStdin' | 'addContainer' | 'removeContainer' | 'listContainers' | 'stats' | 'updateContainer' | 'resizeTerminal' | 'freezeContainer' | 'destroy'
>;

export interface TaskServiceDeps {
  namespace: string;
  /** The runtime's parts for a new sandbox; `configPath` is what the runtime options named, if anything. */
  sandboxDeps(configPath: string | undefined): Promise<SandboxDeps>;
  /** Boots a sandbox (Sandbox.create unless a test gives another). */
  createSandbox?: (id: string, bundle: Bundle, deps: SandboxDeps) => Promise<PodSandbox>;
  exec: Exec;
  log: Logger;
  publish(topic: string, type: string, event: Record<string, unknown>): void;
  /** Shutdown found no task left: the shim may exit. */
  onIdle(): void;
  version: string;
}

/** containerd sends signal numbers; the guest takes any of 1-64 (SIGWINCH stops httpd, SIGRTMIN+3 systemd). */
function checkSignal(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new TtrpcError(Code.INVALID_ARGUMENT, `signal ${n} is not a signal number (1-64)`);
  return n;
}

/** A PassvolError's code, in gRPC terms (the one error table), for containerd's errdefs. */
function asTtrpc(e: unknown): TtrpcError {
  if (e instanceof TtrpcError) return e;
  const err = toPassvolError(e);
  return new TtrpcError(ERROR_TABLE[err.code].grpc, err.message);
}

export class TaskService {
  private readonly tasks = new Map<string, Task>();
  private readonly sandboxes = new Map<string, PodSandbox>();
  /** Creates and deletes one at a time: they change which sandboxes exist and what they hold. */
  private lifecycle: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: TaskServiceDeps) {}

  /** The RPC table, by `service/method`. */
  handlers(): Record<string, Handler> {
    const h = <Req, Res>(decode: (b: Buffer) => Req, run: (r: Req) => Promise<Res>, encode: (r: Res) => Buffer): Handler => {
      return async (payload) => {
        let req: Req;
        try {
          req = decode(payload);
        } catch (e) {
          throw new TtrpcError(Code.INVALID_ARGUMENT, `malformed request: ${(e as Error).message}`);
        }
        try {
          return encode(await run(req));
        } catch (e) {
          throw asTtrpc(e);
        }
      };
    };
    const ref = (b: Buffer) => C.TaskRef.decode(b);
    const empty = () => C.Empty.encode({});
    const unsupported = (what: string) => async () => {
      throw new TtrpcError(Code.UNIMPLEMENTED, `${what} is not supported by passvol sandboxes`);
    };
    const m = (name: string) => `${TASK_SERVICE}/${name}`;
    return {
      [m('Create')]: h((b) => C.CreateTaskRequest.decode(b), (r) => this.serially(() => this.create(r)), (r) => C.CreateTaskResponse.encode(r)),
      [m('Start')]: h(ref, (r) => this.start(r), (r) => C.StartResponse.encode(r)),
      [m('State')]: h(ref, async (r) => this.state(r), (r) => C.StateResponse.encode(r)),
      [m('Wait')]: h(ref, (r) => this.wait(r), (r) => C.WaitResponse.encode(r)),
      [m('Kill')]: h((b) => C.KillRequest.decode(b), (r) => this.kill(r), empty),
      [m('Delete')]: h(ref, (r) => this.serially(() => this.delete(r)), (r) => C.DeleteResponse.encode(r)),
      [m('Exec')]: h((b) => C.ExecProcessRequest.decode(b), async (r) => this.addExec(r), empty),
      [m('CloseIO')]: h((b) => C.CloseIORequest.decode(b), (r) => this.closeIo(r), empty),
      [m('Pids')]: h(ref, async (r) => ({ processes: [{ pid: this.pidOf(this.task(r.id)) }] }), (r) => C.PidsResponse.encode(r)),
      [m('Connect')]: h(ref, async (r) => ({ shim_pid: process.pid, task_pid: this.tasks.has(r.id) ? this.pidOf(this.task(r.id)) : 0, version: this.deps.version }), (r) => C.ConnectResponse.encode(r)),
      [m('Shutdown')]: h((b) => C.ShutdownRequest.decode(b), async () => this.shutdown(), empty),
      [m('Stats')]: h(ref, (r) => this.stats(r), (r) => C.StatsResponse.encode(r)),
      [m('ResizePty')]: h((b) => C.ResizePtyRequest.decode(b), (r) => this.resizePty(r), empty),
      [m('Pause')]: h(ref, (r) => this.freeze(r, true), empty),
      [m('Resume')]: h(ref, (r) => this.freeze(r, false), empty),
      [m('Checkpoint')]: unsupported('checkpoint'),
      [m('Update')]: h((b) => C.UpdateTaskRequest.decode(b), (r) => this.update(r), empty),
    };
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(op, op);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private task(id: string): Task {
    const t = this.tasks.get(id);
    if (!t) throw new TtrpcError(Code.NOT_FOUND, `task ${id} not found`);
    return t;
  }

  private proc(r: TaskRef): Proc {
    const t = this.task(r.id);
    if (!r.exec_id) return t.init;
    const p = t.execs.get(r.exec_id);
    if (!p) throw new TtrpcError(Code.NOT_FOUND, `task ${r.id} has no exec ${r.exec_id}`);
    return p;
  }

  private pidOf(t: Task): number {
    return this.sandboxes.get(t.sandboxId)?.vmPid ?? 0;
  }

  private sandboxOf(t: Task): PodSandbox {
    const sb = this.sandboxes.get(t.sandboxId);
    if (!sb) throw new TtrpcError(Code.FAILED_PRECONDITION, `the sandbox of task ${t.id} is gone`);
    return sb;
  }

  /** Which container of its sandbox a task is, as Sandbox's methods name it: undefined for the sandbox's own. */
  private static container(t: Task): string | undefined {
    return t.id === t.sandboxId ? undefined : t.id;
  }

  private async create(r: CreateTaskRequest): Promise<{ pid: number }> {
    if (this.tasks.has(r.id)) throw new TtrpcError(Code.ALREADY_EXISTS, `task ${r.id} exists`);
    if (r.checkpoint) throw new TtrpcError(Code.UNIMPLEMENTED, 'passvol sandboxes cannot be restored from a checkpoint');
    const log = this.deps.log.child({ task: r.id });
    const io = ProcessIo.open(r, () => log.warn('nobody reads the task output: dropping it'));
    const rootfsMounted = r.rootfs.length > 0;
    // What a failure must undo: the container added to the pod's sandbox, or the sandbox made for this task.
    let joined: PodSandbox | undefined;
    let created: PodSandbox | undefined;
    try {
      if (rootfsMounted) await mountRootfs(this.deps.exec, r.rootfs, join(r.bundle, 'rootfs'));
      const bundle = await readBundle(r.bundle);
      const type = bundle.spec.annotations[CRI_CONTAINER_TYPE];
      const podSandbox = bundle.spec.annotations[CRI_SANDBOX_ID];
      let sandboxId = r.id;
      if (type === 'container' && podSandbox && podSandbox !== r.id) {
        // A pod's container: it joins the VM its sandbox task booted.
        const sb = this.sandboxes.get(podSandbox);
        if (!sb) throw new TtrpcError(Code.FAILED_PRECONDITION, `container ${r.id} belongs to pod sandbox ${podSandbox}, which this shim does not run`);
        joined = sb;
        await sb.addContainer(r.id, bundle);
        sandboxId = podSandbox;
      } else {
        const configPath = this.configPathOf(r.options);
        const deps = await this.deps.sandboxDeps(configPath);
        // A `delete` after this shim died must find the sandbox where these settings put it.
        if (configPath) await writeFile(join(r.bundle, CONFIG_PATH_FILE), configPath);
        created = await (this.deps.createSandbox ?? ((id, b, d) => Sandbox.create(id, b, d)))(sandboxIdOf(r.id), bundle, deps);
        this.sandboxes.set(r.id, created);
      }
      const task: Task = { id: r.id, bundle: r.bundle, sandboxId, init: new Proc('', io), execs: new Map(), rootfsMounted };
      this.tasks.set(r.id, task);
      const pid = this.pidOf(task);
      this.deps.publish('/tasks/create', 'TaskCreate', { container_id: r.id, bundle: r.bundle, rootfs: r.rootfs, io: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal }, pid });
      log.info({ sandbox: sandboxId, pid }, 'task created');
      return { pid };
    } catch (e) {
      io.close();
      // An add whose own undo failed stays listed in the sandbox: removing it retries that undo.
      if (joined?.listContainers().some((c) => c.id === r.id)) await joined.removeContainer(r.id).catch((u: Error) => log.warn({ err: u.message }, 'could not undo the failed add; the sandbox keeps it until the pod goes'));
      if (created) {
        this.sandboxes.delete(r.id);
        await created.destroy().catch((u: Error) => log.warn({ err: u.message }, 'could not undo the sandbox of a failed create; `passvol gc` finishes it'));
      }
      if (rootfsMounted) await unmountRootfs(this.deps.exec, join(r.bundle, 'rootfs')).catch((u: Error) => log.warn({ err: u.message }, 'rootfs left mounted after a failed create'));
      throw e;
    }
  }

  /** runtimeoptions.v1.Options (CRI's `options` table, `ctr --runtime-config-path`) may name a config file. */
  private configPathOf(options: Any | null): string | undefined {
    if (!options?.type_url.endsWith('runtimeoptions.v1.Options')) return undefined;
    const path = C.RuntimeOptions.decode(options.value).config_path;
    return path || undefined;
  }

  private async start(r: TaskRef): Promise<{ pid: number }> {
    const t = this.task(r.id);
    const p = this.proc(r);
    if (p.status !== 'created' || p.starting) throw new TtrpcError(Code.FAILED_PRECONDITION, `${r.exec_id ? `exec ${r.exec_id}` : `task ${r.id}`} was started already`);
    const started = this.startProc(t, p, r);
    p.starting = started.catch(() => undefined);
    try {
      return await started;
    } finally {
      p.starting = undefined;
    }
  }

  private async startProc(t: Task, p: Proc, r: TaskRef): Promise<{ pid: number }> {
    const sb = this.sandboxOf(t);
    const pid = this.pidOf(t);
    const container = TaskService.container(t);
    if (!r.exec_id) {
      await sb.start((stream, data) => p.io.write(stream, data), container);
      p.status = 'running';
      if (p.terminalSize) await sb.resizeTerminal(p.terminalSize.rows, p.terminalSize.cols, container).catch((e: Error) => this.deps.log.warn({ task: t.id, err: e.message }, 'cannot size the terminal'));
      // Without stdin the process reads EOF at once, as from runc's /dev/null; a terminal is left open (no one types).
      if (p.io.hasStdin) p.io.pipeStdin({ data: (d) => sb.stdin(d, container), end: () => sb.stdin('end', container) });
      else if (!p.io.paths.terminal) await sb.stdin('end', container).catch(() => undefined);
      void this.watchInit(t, sb);
      this.deps.publish('/tasks/start', 'TaskStart', { container_id: t.id, pid });
      return { pid };
    }
    // As runc refuses: its process would join the frozen cgroup and stop before anything of it ran.
    if (t.paused) throw new TtrpcError(Code.FAILED_PRECONDITION, `task ${t.id} is paused: resume it first`);
    const spec = p.spec!;
    await new Promise<void>((started, failed) => {
      void sb
        .exec(spec.args, { cwd: spec.cwd, env: spec.env, user: { uid: spec.user.uid, gid: spec.user.gid }, container, keepStdin: p.io.hasStdin, ...terminalOf(spec, p.terminalSize) }, (stream, data) => p.io.write(stream, data), (id) => {
          p.sandboxExecId = id;
          p.status = 'running';
          p.io.pipeStdin({ data: (d) => sb.execStdin(id, d, container), end: () => sb.execStdin(id, 'end', container) });
          started();
        })
        .then(
          (res) => this.exitProc(t, p, res.exitCode),
          (e: unknown) => {
            if (p.sandboxExecId === undefined) return failed(e);
            this.deps.log.warn({ task: t.id, exec: r.exec_id, err: (e as Error).message }, 'lost the exec');
            this.exitProc(t, p, 255);
          },
        );
    });
    this.deps.publish('/tasks/exec-started', 'TaskExecStarted', { container_id: t.id, exec_id: r.exec_id, pid });
    return { pid };
  }

  /** Waits out the task's init; a sandbox that is lost ends it with 255. */
  private async watchInit(t: Task, sb: PodSandbox): Promise<void> {
    try {
      const status = await sb.wait(TaskService.container(t));
      await this.reportOom(t, sb);
      this.exitProc(t, t.init, status);
    } catch (e) {
      if (t.init.status === 'stopped') return;
      this.deps.log.warn({ task: t.id, err: (e as Error).message }, 'lost the task: it counts as exited');
      this.exitProc(t, t.init, 255);
    }
  }

  /**
   * A container in whose cgroup the kernel OOM-killed: containerd hears /tasks/oom before the exit, as runc's
   * shim sends it when it happens, and CRI reports the container OOMKilled. Asked briefly: the exit waits on it.
   */
  private async reportOom(t: Task, sb: PodSandbox): Promise<void> {
    const s = await sb.stats(TaskService.container(t), OOM_CHECK_MS).catch(() => undefined);
    if (!s || s.memoryEvents.oomKill === 0) return;
    this.deps.log.info({ task: t.id, oomKills: s.memoryEvents.oomKill }, 'the container went over its memory limit');
    this.deps.publish('/tasks/oom', 'TaskOOM', { container_id: t.id });
  }

  private exitProc(t: Task, p: Proc, status: number): void {
    if (p.status === 'stopped') return;
    p.exit(status);
    this.deps.log.info({ task: t.id, ...(p.execId ? { exec: p.execId } : {}), status }, 'process exited');
    this.deps.publish('/tasks/exit', 'TaskExit', { container_id: t.id, id: p.execId || t.id, pid: this.pidOf(t), exit_status: status, exited_at: toTimestamp(p.exitedAt!) });
  }

  private state(r: TaskRef): Record<string, unknown> {
    const t = this.task(r.id);
    const p = this.proc(r);
    const status = t.paused && p.status === 'running' ? Status.PAUSED : { created: Status.CREATED, running: Status.RUNNING, stopped: Status.STOPPED }[p.status];
    return {
      id: r.id,
      exec_id: r.exec_id,
      bundle: t.bundle,
      pid: this.pidOf(t),
      status,
      stdin: p.io.paths.stdin,
      stdout: p.io.paths.stdout,
      stderr: p.io.paths.stderr,
      terminal: false,
      exit_status: p.exitStatus,
      ...(p.exitedAt ? { exited_at: toTimestamp(p.exitedAt) } : {}),
    };
  }

  private async wait(r: TaskRef): Promise<{ exit_status: number; exited_at: Timestamp | null }> {
    const p = this.proc(r);
    await p.exited;
    return { exit_status: p.exitStatus, exited_at: toTimestamp(p.exitedAt!) };
  }

  /**
   * The task's container's cgroup figures in the guest, as containerd's metrics for cgroup v2. NotFound (a task
   * without a sandbox any more, or a container the agent has no cgroup for) makes CRI's listing skip it.
   */
  private async stats(r: TaskRef): Promise<{ stats: Any }> {
    const t = this.task(r.id);
    const sb = this.sandboxes.get(t.sandboxId);
    if (!sb) throw new TtrpcError(Code.NOT_FOUND, `the sandbox of task ${t.id} is gone`);
    const s = await sb.stats(TaskService.container(t)).catch((e: Error) => {
      throw new TtrpcError(Code.NOT_FOUND, `no figures for task ${t.id}: ${e.message}`);
    });
    const value = C.CgroupMetrics.encode({
      pids: s.pids,
      cpu: { usage_usec: s.cpu.usageUsec, user_usec: s.cpu.userUsec, system_usec: s.cpu.systemUsec, nr_periods: s.cpu.nrPeriods, nr_throttled: s.cpu.nrThrottled, throttled_usec: s.cpu.throttledUsec },
      memory: {
        anon: s.memory.anon, file: s.memory.file, kernel_stack: s.memory.kernelStack, slab: s.memory.slab, sock: s.memory.sock, shmem: s.memory.shmem,
        file_mapped: s.memory.fileMapped, file_dirty: s.memory.fileDirty, inactive_anon: s.memory.inactiveAnon, active_anon: s.memory.activeAnon,
        inactive_file: s.memory.inactiveFile, active_file: s.memory.activeFile, unevictable: s.memory.unevictable, pgfault: s.memory.pgfault,
        pgmajfault: s.memory.pgmajfault, usage: s.memory.usage, usage_limit: s.memory.limit,
      },
      memory_events: { low: s.memoryEvents.low, high: s.memoryEvents.high, max: s.memoryEvents.max, oom: s.memoryEvents.oom, oom_kill: s.memoryEvents.oomKill },
    });
    return { stats: { type_url: CGROUP_V2_METRICS, value } };
  }

  /** Pause and Resume: every process of the task's container stops where it is, or goes on, as runc's do. */
  private async freeze(r: TaskRef, frozen: boolean): Promise<Record<string, never>> {
    const t = this.task(r.id);
    if (t.init.status !== 'running') throw new TtrpcError(Code.FAILED_PRECONDITION, `task ${t.id} is not running`);
    if (Boolean(t.paused) === frozen) throw new TtrpcError(Code.FAILED_PRECONDITION, `task ${t.id} is ${frozen ? 'paused already' : 'not paused'}`);
    await this.sandboxOf(t).freezeContainer(frozen, TaskService.container(t));
    t.paused = frozen;
    this.deps.publish(frozen ? '/tasks/paused' : '/tasks/resumed', frozen ? 'TaskPaused' : 'TaskResumed', { container_id: t.id });
    return {};
  }

  /** The client's window size for a process's terminal (an exec's, or the task's own); 0x0 is not a size yet. */
  private async resizePty(r: { id: string; exec_id: string; width: number; height: number }): Promise<Record<string, never>> {
    const t = this.task(r.id);
    const p = this.proc(r);
    if (r.width === 0 || r.height === 0 || p.status === 'stopped') return {};
    // Before the process runs, the size is kept and given at its start.
    if (p.status !== 'running' || (r.exec_id && p.sandboxExecId === undefined)) {
      p.terminalSize = { rows: r.height, cols: r.width };
      return {};
    }
    await this.sandboxOf(t).resizeTerminal(r.height, r.width, TaskService.container(t), r.exec_id ? p.sandboxExecId : undefined);
    return {};
  }

  /** New limits for the task's container (CRI's UpdateContainerResources): the OCI LinuxResources as JSON. */
  private async update(r: { id: string; resources: Any | null }): Promise<Record<string, never>> {
    const t = this.task(r.id);
    if (!r.resources?.type_url.endsWith('/LinuxResources')) throw new TtrpcError(Code.INVALID_ARGUMENT, `Update needs the OCI LinuxResources, not "${r.resources?.type_url ?? 'nothing'}"`);
    let raw: unknown;
    try {
      raw = JSON.parse(r.resources.value.toString('utf8'));
    } catch {
      throw new TtrpcError(Code.INVALID_ARGUMENT, 'the LinuxResources are not JSON');
    }
    const parsed = LinuxResourcesSchema.safeParse(raw);
    if (!parsed.success) throw new TtrpcError(Code.INVALID_ARGUMENT, `LinuxResources: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    let resources: ContainerResources;
    try {
      resources = limitsOf(parsed.data);
    } catch (e) {
      throw new TtrpcError(Code.INVALID_ARGUMENT, (e as Error).message);
    }
    await this.sandboxOf(t).updateContainer(resources, TaskService.container(t));
    this.deps.log.info({ task: t.id, resources }, "the container's limits changed");
    return {};
  }

  private async kill(r: KillRequest): Promise<Record<string, never>> {
    const t = this.task(r.id);
    const p = this.proc(r);
    const signal = checkSignal(r.signal);
    const stops = signal === osConstants.signals.SIGKILL || signal === osConstants.signals.SIGTERM;
    // A Start in flight is let finish: the kill then reaches the process it started.
    await p.starting;
    if (p.status === 'stopped') {
      // kubelet stops containers again and again: a stop signal to a stopped process is done already.
      if (stops) return {};
      throw new TtrpcError(Code.NOT_FOUND, 'process already finished');
    }
    if (p.status === 'created') {
      // Never started: nothing runs to signal, but Wait must end (containerd's WithProcessKill waits).
      if (stops) this.exitProc(t, p, KILLED);
      return {};
    }
    const sb = this.sandboxOf(t);
    try {
      if (p.sandboxExecId) await sb.signalExec(p.sandboxExecId, signal, TaskService.container(t));
      else await sb.kill(signal, TaskService.container(t), r.all);
    } catch (e) {
      // It ended between our look and the guest's.
      if (toPassvolError(e).code === 'PV_ERR_FAILED_PRECONDITION' && /has exited/.test((e as Error).message)) {
        if (stops) return {};
        throw new TtrpcError(Code.NOT_FOUND, 'process already finished');
      }
      throw e;
    }
    return {};
  }

  private addExec(r: ExecProcessRequest): Record<string, never> {
    const t = this.task(r.id);
    if (t.init.status !== 'running') throw new TtrpcError(Code.FAILED_PRECONDITION, `task ${r.id} is not running`);
    if (t.paused) throw new TtrpcError(Code.FAILED_PRECONDITION, `task ${r.id} is paused: resume it first`);
    if (!r.exec_id) throw new TtrpcError(Code.INVALID_ARGUMENT, 'an exec needs an exec id');
    if (t.execs.has(r.exec_id)) throw new TtrpcError(Code.ALREADY_EXISTS, `task ${r.id} has an exec ${r.exec_id} already`);
    let raw: unknown;
    try {
      raw = JSON.parse(r.spec?.value.toString('utf8') ?? '');
    } catch {
      throw new TtrpcError(Code.INVALID_ARGUMENT, "the exec's process spec is not JSON");
    }
    const spec = ExecSpec.safeParse(raw);
    if (!spec.success) throw new TtrpcError(Code.INVALID_ARGUMENT, `exec process spec: ${spec.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const io = ProcessIo.open({ stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal || spec.data.terminal });
    t.execs.set(r.exec_id, new Proc(r.exec_id, io, { ...spec.data, terminal: r.terminal || spec.data.terminal }));
    this.deps.publish('/tasks/exec-added', 'TaskExecAdded', { container_id: t.id, exec_id: r.exec_id });
    return {};
  }

  private async closeIo(r: CloseIORequest): Promise<Record<string, never>> {
    const p = this.proc(r);
    if (r.stdin) p.io.closeStdin();
    return {};
  }

  private async delete(r: TaskRef): Promise<{ pid: number; exit_status: number; exited_at: Timestamp | null }> {
    const t = this.task(r.id);
    const p = this.proc(r);
    if (p.status === 'running' || p.starting) throw new TtrpcError(Code.FAILED_PRECONDITION, `${r.exec_id ? `exec ${r.exec_id}` : `task ${r.id}`} is running; kill it first`);
    // A process never started counts as killed: its FIFOs close and its Wait ends.
    this.exitProc(t, p, KILLED);
    const pid = this.pidOf(t);
    const exited = { pid, exit_status: p.exitStatus, exited_at: toTimestamp(p.exitedAt ?? new Date()) };
    if (r.exec_id) {
      t.execs.delete(r.exec_id);
      return exited;
    }
    for (const x of t.execs.values()) this.exitProc(t, x, KILLED);
    const sb = this.sandboxes.get(t.sandboxId);
    if (sb && t.id === t.sandboxId) {
      // CRI deletes the pod's sandbox last; whatever else still runs in its VM ends with it. Those tasks stay
      // listed, stopped, until containerd deletes them; their rootfs is unmounted once the VM no longer shares it.
      const others = [...this.tasks.values()].filter((o) => o.sandboxId === t.id && o !== t);
      for (const o of others) for (const x of [o.init, ...o.execs.values()]) this.exitProc(o, x, KILLED);
      await sb.destroy();
      this.sandboxes.delete(t.id);
      for (const o of others) await this.unmount(o).catch((e: Error) => this.deps.log.warn({ task: o.id, err: e.message }, 'rootfs still mounted; its delete retries'));
    } else if (sb) {
      await sb.removeContainer(t.id);
    }
    await this.unmount(t);
    this.tasks.delete(t.id);
    this.deps.publish('/tasks/delete', 'TaskDelete', { container_id: t.id, pid, exit_status: exited.exit_status, exited_at: exited.exited_at });
    return exited;
  }

  private async unmount(t: Task): Promise<void> {
    if (t.rootfsMounted) await unmountRootfs(this.deps.exec, join(t.bundle, 'rootfs'));
    t.rootfsMounted = false;
  }

  private async shutdown(): Promise<Record<string, never>> {
    if (this.tasks.size === 0) setImmediate(() => this.deps.onIdle());
    return {};
  }

  /** The shim is going away (SIGTERM): every sandbox it holds is torn down, as a delete of each would. */
  async destroyAll(): Promise<void> {
    for (const [id, sb] of this.sandboxes) {
      await sb.destroy().catch((e: Error) => this.deps.log.warn({ sandbox: id, err: e.message }, 'teardown failed; `passvol gc` finishes it'));
    }
    for (const t of this.tasks.values()) await this.unmount(t).catch(() => undefined);
    this.sandboxes.clear();
    this.tasks.clear();
  }
}

