// Containers in the guest. A container is a rootfs directory (already mounted by the runtime, under
// /run/passvol/), a fresh /dev (container-dev.ts), the volumes bind-mounted into it and the kernel
// filesystems its spec asks for (sysfs, tmpfs, ...), in the spec's order (in the agent's namespace, with
// nosuid,nodev and ro as asked; destinations resolved inside the rootfs so an image's symlinks cannot
// redirect them), and processes run by container-launcher.ts in a private mount namespace and a PID
// namespace of their own, in a cgroup of their own with the container's limits (container-cgroup.ts).
import { mkdir, readdir, readlink, stat, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { AgentError, type ContainerMountEntry, type ContainerResources, type ContainerStatsResult, type KernelMount, type ProcessSpec } from '../protocol/index.js';
import { createContainerCgroup, freezeContainerCgroup, readContainerStats, removeContainerCgroup, setContainerLimits } from './container-cgroup.js';
import { checkKernelMountOptions } from './mount-policy.js';
import { capabilityMasks } from './capabilities.js';
import { prepareContainerDev } from './container-dev.js';
import { execCommand, initCommand, terminalCommand, type Command, type Placement } from './container-launcher.js';
import { ContainerProcess, signalNumber, type ExitStatus } from './container-process.js';
import type { EventSink } from './event-sink.js';
import { checkContainerPath, checkGuestPath, type PathMapper } from './guest-paths.js';
import type { RunCommand } from './run-command.js';
import { ensureInRoot, openDirInRoot, resolveInRoot } from './secure-join.js';

const DELETE_WAIT_MS = 10_000;
/** A terminal's size when the runtime gives none, a console's. */
const DEFAULT_TERMINAL = { rows: 24, cols: 80 };
const START_WAIT_MS = 5000;

/** The working directory's host path, resolved inside the rootfs; the init's is created if missing (as runc does). */
async function workingDir(rootfsHost: string, cwd: string, create: boolean): Promise<string> {
  const host = await resolveInRoot(rootfsHost, cwd);
  if (create) await mkdir(host, { recursive: true, mode: 0o755 });
  return host;
}

interface Container {
  readonly id: string;
  readonly rootfsHost: string;
  readonly procHost: string;
  readonly init: ProcessSpec;
  /** Host paths of the volumes bound in (their sources), for unmount's "in use" check. */
  readonly sources: string[];
  /** Mount points the agent made, in the order made. */
  readonly binds: string[];
  readonly processes: Map<string, ContainerProcess>;
  /** Its cgroup's cgroup.procs, which its processes join; none where the agent makes no cgroups. */
  cgroupProcs?: string;
  initExecId?: string;
  /** True once the init process has been seen inside the rootfs (exec joins it only then). */
  initInside?: boolean;
}

export interface ContainerDeps {
  readonly paths: PathMapper;
  readonly run: RunCommand;
  readonly busybox: string;
  /** util-linux setpriv, for processes with supplementary groups. */
  readonly setpriv?: string;
  /** util-linux script, for processes with a terminal. */
  readonly script?: string;
  /** A descriptor on caps-exec (src/agent/caps-exec/), which narrows a root process's capabilities. */
  readonly capsExecFd?: number;
  /** The cgroup v2 root containers get their cgroups under (the guest's /sys/fs/cgroup); none in host tests. */
  readonly cgroupRoot?: string;
  readonly events: EventSink;
  readonly log: Logger;
}

export class ContainerRegistry {
  private readonly containers = new Map<string, Container>();

  constructor(private readonly deps: ContainerDeps) {}

  private get(containerId: string): Container {
    const c = this.containers.get(containerId);
    if (!c) throw new AgentError('NOT_FOUND', `no container "${containerId}"; create it first`);
    return c;
  }

  private process(containerId: string, execId: string): ContainerProcess {
    const p = this.get(containerId).processes.get(execId);
    if (!p) throw new AgentError('NOT_FOUND', `container "${containerId}" has no process "${execId}"`);
    return p;
  }

  /** Ids of containers that have a volume bound from `hostPath` or below it. */
  usersOf(hostPath: string): string[] {
    return [...this.containers.values()]
      .filter((c) => c.sources.some((s) => s === hostPath || s.startsWith(`${hostPath}/`)))
      .map((c) => c.id);
  }

  ids(): string[] {
    return [...this.containers.keys()];
  }

  async create(args: { containerId: string; rootfs: string; rootfsReadonly?: boolean; mounts: ContainerMountEntry[]; process: ProcessSpec; resources?: ContainerResources }): Promise<void> {
    const { containerId } = args;
    if (this.containers.has(containerId)) throw new AgentError('ALREADY_EXISTS', `container "${containerId}" already exists`);
    // Every argument is checked before anything on disk is looked at or changed.
    const rootfsHost = this.deps.paths.toHost(checkGuestPath(args.rootfs, 'rootfs'));
    const checked = args.mounts.map((m) =>
      'fstype' in m
        ? { ...m, destination: checkContainerPath(m.destination, 'mount destination'), options: checkKernelMountOptions(m.fstype, m.options) }
        : { ...m, sourceHost: this.deps.paths.toHost(checkGuestPath(m.source, 'mount source')), destination: checkContainerPath(m.destination, 'mount destination') },
    );
    const rootStat = await stat(rootfsHost).catch(() => undefined);
    if (!rootStat?.isDirectory()) throw new AgentError('NOT_FOUND', `rootfs ${args.rootfs} is not a directory in the guest; mount it first`);
    const planned = await Promise.all(
      checked.map(async (m) => {
        if (!('sourceHost' in m)) return m;
        const st = await stat(m.sourceHost).catch(() => undefined);
        if (!st) throw new AgentError('NOT_FOUND', `mount source ${m.source} does not exist in the guest; mount the volume first`);
        return { ...m, isDir: st.isDirectory() };
      }),
    );
    const binds = planned.filter((m) => 'sourceHost' in m);
    const container: Container = {
      id: containerId,
      rootfsHost,
      procHost: await ensureInRoot(rootfsHost, '/proc', 'dir'),
      init: args.process,
      sources: binds.map((m) => m.sourceHost),
      binds: [],
      processes: new Map(),
    };
    // Registered before the first await on mounts, so a concurrent create of the same id is refused.
    this.containers.set(containerId, container);
    try {
      if (this.deps.cgroupRoot) container.cgroupProcs = await createContainerCgroup(this.deps.cgroupRoot, containerId, args.resources ?? {});
      // A read-only root is a bind of the rootfs onto itself, made read-only last (as runc does), so the
      // mount points below and the init's working directory can still be created first.
      if (args.rootfsReadonly) {
        await this.deps.run('mount', ['--bind', rootfsHost, rootfsHost]);
        container.binds.push(rootfsHost);
      }
      await prepareContainerDev(this.deps.run, rootfsHost, container.binds);
      for (const m of planned) {
        if (!('sourceHost' in m)) {
          await this.mountKernelFs(rootfsHost, m, container.binds);
          continue;
        }
        const target = await ensureInRoot(rootfsHost, m.destination, m.isDir ? 'dir' : 'file');
        await this.deps.run('mount', ['-o', 'bind', m.sourceHost, target]);
        container.binds.push(target);
        const flags = ['remount', 'bind', 'nosuid', 'nodev', ...(m.readonly ? ['ro'] : [])].join(',');
        await this.deps.run('mount', ['-o', flags, target]);
      }
      if (args.rootfsReadonly) {
        await workingDir(rootfsHost, args.process.cwd, true);
        // The share under it is mounted nosuid,nodev (mount-policy.ts); a bind remount sets all flags anew.
        await this.deps.run('mount', ['-o', 'remount,bind,ro,nosuid,nodev', rootfsHost]);
      }
    } catch (e) {
      await this.unbind(container).catch((err: unknown) => this.deps.log.error({ err, containerId }, 'cleanup after a failed create'));
      if (container.cgroupProcs) await removeContainerCgroup(container.cgroupProcs).catch((err: unknown) => this.deps.log.error({ err, containerId }, 'cgroup cleanup after a failed create'));
      this.containers.delete(containerId);
      throw e;
    }
    this.deps.log.info({ containerId, rootfs: args.rootfs, mounts: planned.length, resources: args.resources }, 'container created');
  }

  /** A filesystem of the guest kernel (sysfs, tmpfs, ...) at its destination; devpts also gets its /dev/ptmx. */
  private async mountKernelFs(rootfsHost: string, m: KernelMount, made: string[]): Promise<void> {
    const target = await ensureInRoot(rootfsHost, m.destination, 'dir');
    await this.deps.run('mount', ['-t', m.fstype, '-o', m.options.join(','), m.fstype, target]);
    made.push(target);
    if (m.fstype === 'devpts' && m.destination === '/dev/pts') {
      await symlink('pts/ptmx', join(dirname(target), 'ptmx')).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
  }

  /**
   * A process's capabilities as caps-exec takes them: its own, else its container's. None when none are
   * asked (the process keeps what root has, as before: OCI bundles from containerd and runc always ask).
   */
  private capabilitiesOf(c: Container, p: ProcessSpec): Placement['capabilities'] {
    const sets = p.capabilities ?? c.init.capabilities;
    if (!sets) return undefined;
    // Fail closed: a process that asks for fewer capabilities never runs with all of them.
    if (this.deps.capsExecFd === undefined) throw new AgentError('FAILED_PRECONDITION', 'the process asks for its capabilities to be narrowed, but caps-exec is not in the guest image (passvol image build after scripts/install-go-tools.sh)');
    const { masks, unknown, narrowed } = capabilityMasks(sets);
    if (unknown.length > 0) this.deps.log.warn({ containerId: c.id, unknown }, 'capabilities this agent does not know are left out');
    if (narrowed.length > 0) this.deps.log.warn({ containerId: c.id, narrowed }, 'capability sets narrowed to what the kernel takes');
    return { masks, helperFd: this.deps.capsExecFd };
  }

  /** The command behind script when the process has a terminal (placement() gave it its size). */
  private withTerminal(cmd: Command, p: ProcessSpec): Command {
    if (!p.terminal) return cmd;
    const { script } = this.deps;
    if (!script) throw new AgentError('FAILED_PRECONDITION', 'the process asks for a terminal, but script (util-linux) is not in the guest image');
    return terminalCommand({ ...this.deps, script }, cmd);
  }

  /** Sets the size of a process's terminal (the kernel tells its foreground process group, SIGWINCH). */
  async resizeTerminal(containerId: string, execId: string, rows: number, cols: number): Promise<void> {
    const tty = this.process(containerId, execId).terminal;
    if (!tty) throw new AgentError('FAILED_PRECONDITION', `process ${execId} of container ${containerId} has no terminal (or has exited)`);
    await this.deps.run(this.deps.busybox, ['stty', '-F', tty, 'rows', String(rows), 'cols', String(cols)], { failureCode: 'FAILED_PRECONDITION' });
  }

  /** A process's cgroup (its container's), OOM score and no_new_privs: its own, else its container's, else the defaults. */
  private placement(c: Container, p: ProcessSpec): Placement {
    const capabilities = this.capabilitiesOf(c, p);
    return {
      ...(capabilities ? { capabilities } : {}),
      ...(c.cgroupProcs ? { cgroupProcs: c.cgroupProcs } : {}),
      oomScoreAdj: p.oomScoreAdj ?? c.init.oomScoreAdj ?? 0,
      noNewPrivileges: p.noNewPrivileges ?? c.init.noNewPrivileges ?? false,
      ...(p.terminal ? { terminal: p.terminalSize ?? DEFAULT_TERMINAL } : {}),
    };
  }

  async start(containerId: string, execId: string, spec: ProcessSpec | undefined): Promise<number> {
    const c = this.get(containerId);
    if (c.processes.has(execId)) throw new AgentError('ALREADY_EXISTS', `container "${containerId}" already has a process "${execId}"`);
    const log = this.deps.log.child({ containerId, execId });
    let proc: ContainerProcess;
    if (spec === undefined) {
      if (c.initExecId !== undefined) throw new AgentError('ALREADY_EXISTS', `container "${containerId}" was already started (as "${c.initExecId}")`);
      const cwdHost = await workingDir(c.rootfsHost, c.init.cwd, true);
      const cmd = this.withTerminal(initCommand(this.deps, c.rootfsHost, c.procHost, c.init.env, { ...c.init, cwdHost }, this.placement(c, c.init)), c.init);
      c.initExecId = execId;
      proc = new ContainerProcess(containerId, execId, cmd, this.deps.events, log);
    } else {
      const init = c.initExecId === undefined ? undefined : c.processes.get(c.initExecId);
      if (!init?.isRunning || init.realPid === undefined || !c.initInside) {
        throw new AgentError('FAILED_PRECONDITION', `container "${containerId}" is not running; start its init process first`);
      }
      // The container runs: its working directory is resolved through descriptors and handed over pinned,
      // from the init's own root (/proc/<pid>/root): in the container's mount tree, where ".." stops at its
      // root once nsenter has chrooted there. From the agent's tree, ".." would climb past it.
      const cwd = await openDirInRoot(`/proc/${init.realPid}/root`, spec.cwd);
      try {
        proc = new ContainerProcess(containerId, execId, this.withTerminal(execCommand(this.deps, init.realPid, spec.env, spec, cwd.fd, this.placement(c, spec)), spec), this.deps.events, log);
      } finally {
        await cwd.close();
      }
    }
    c.processes.set(execId, proc);
    try {
      const pid = await proc.started();
      // An exec joins the init's namespaces and root, so the init counts as started only once it is inside
      // the rootfs; otherwise an exec could join the launcher while it still has the agent's root.
      if (spec === undefined) c.initInside = await proc.rootIs(c.rootfsHost, START_WAIT_MS);
      log.info({ pid }, 'process started');
      return pid;
    } catch (e) {
      proc.kill();
      c.processes.delete(execId);
      if (spec === undefined) c.initExecId = undefined;
      throw e;
    }
  }

  signal(containerId: string, execId: string, signal: string | number): void {
    this.process(containerId, execId).signal(signal);
  }

  /**
   * Signals every process in the container's PID namespace (the init's), found by their /proc/<pid>/ns/pid:
   * what runc's `kill --all` reaches through the container's cgroup. Returns how many were signalled.
   */
  async signalAll(containerId: string, signal: string | number): Promise<number> {
    const c = this.get(containerId);
    const init = c.initExecId === undefined ? undefined : c.processes.get(c.initExecId);
    if (!init?.isRunning || init.realPid === undefined) throw new AgentError('FAILED_PRECONDITION', `container "${containerId}" is not running`);
    const ns = await readlink(`/proc/${init.realPid}/ns/pid`).catch(() => {
      throw new AgentError('FAILED_PRECONDITION', `container "${containerId}" has just exited`);
    });
    let signalled = 0;
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      if ((await readlink(`/proc/${name}/ns/pid`).catch(() => '')) !== ns) continue;
      try {
        process.kill(Number(name), signalNumber(signal));
        signalled++;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
    this.deps.log.info({ containerId, signal, signalled }, 'signalled every process of the container');
    return signalled;
  }

  wait(containerId: string, execId: string): Promise<ExitStatus> {
    return this.process(containerId, execId).exited;
  }

  writeStdin(containerId: string, execId: string, data: Buffer): Promise<number> {
    return this.process(containerId, execId).writeStdin(data);
  }

  closeStdin(containerId: string, execId: string): void {
    this.process(containerId, execId).closeStdin();
  }

  /** A container's cgroup (its cgroup.procs); an agent run on a host for tests makes none. */
  private cgroupOf(containerId: string): string {
    const c = this.get(containerId);
    if (!c.cgroupProcs) throw new AgentError('FAILED_PRECONDITION', `container "${containerId}" has no cgroup (this agent makes none)`);
    return c.cgroupProcs;
  }

  /**
   * New limits on its cgroup. A memory limit below what the container uses makes the kernel reclaim and,
   * failing that, OOM-kill in the container (cgroup v2), as on a node under runc.
   */
  async update(containerId: string, r: ContainerResources): Promise<void> {
    // The kernel's own checks (a quota beyond its range) come back as EINVAL: bad input, said so. Limits
    // written before the one refused stay, as with runc's update.
    await setContainerLimits(this.cgroupOf(containerId), r).catch((e: NodeJS.ErrnoException) => {
      throw new AgentError(e.code === 'EINVAL' ? 'INVALID_ARGUMENT' : 'INTERNAL', `cannot set the limits of container "${containerId}": ${e.message}`);
    });
    this.deps.log.info({ containerId, resources: r }, 'container limits updated');
  }

  /** Freezes every process of the container, or thaws them (containerd's Pause and Resume). */
  async freeze(containerId: string, frozen: boolean): Promise<void> {
    await freezeContainerCgroup(this.cgroupOf(containerId), frozen).catch((e: Error) => {
      throw new AgentError('INTERNAL', `container "${containerId}": ${e.message}`);
    });
    this.deps.log.info({ containerId, frozen }, frozen ? 'container frozen' : 'container thawed');
  }

  /** Its cgroup's figures; none where the agent makes no cgroups. */
  async stats(containerId: string): Promise<ContainerStatsResult> {
    return readContainerStats(this.cgroupOf(containerId));
  }

  async delete(containerId: string, force: boolean): Promise<void> {
    const c = this.get(containerId);
    const running = [...c.processes.values()].filter((p) => p.isRunning);
    if (running.length > 0 && !force) {
      throw new AgentError(
        'FAILED_PRECONDITION',
        `container "${containerId}" still runs ${running.map((p) => p.execId).join(', ')}; signal them and wait, or delete with force`,
      );
    }
    for (const p of running) p.kill();
    const all = Promise.all(running.map((p) => p.exited));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), DELETE_WAIT_MS)));
    const outcome = await Promise.race([all, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new AgentError('INTERNAL', `processes of container "${containerId}" did not exit within ${DELETE_WAIT_MS} ms of SIGKILL`);
    await this.unbind(c);
    // Its processes have exited: the cgroup goes (a process of it that escaped the PID namespace keeps it busy).
    if (c.cgroupProcs) await removeContainerCgroup(c.cgroupProcs).catch((err: unknown) => this.deps.log.warn({ err, containerId }, 'container cgroup kept'));
    this.containers.delete(containerId);
    this.deps.log.info({ containerId }, 'container deleted');
  }

  private async unbind(c: Container): Promise<void> {
    while (c.binds.length > 0) {
      const target = c.binds[c.binds.length - 1] as string;
      await this.deps.run('umount', [target], { failureCode: 'FAILED_PRECONDITION' });
      c.binds.pop();
    }
  }
}
