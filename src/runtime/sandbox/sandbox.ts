// One sandbox: a VM, its agent, the volumes attached to it, its containers, and its monitor socket.
// create() boots and prepares everything for the bundle's container (the seeds' steps 4-7), start() runs
// its process, destroy() undoes it all in reverse. More containers (a pod's others) join a running sandbox
// with addContainer(): their rootfs and folders come through the sandbox's pod share, and a volume another
// container already has is bound in as it is, mounted once; removeContainer() detaches what no container
// uses any more. Every step is recorded in state.json so `passvol gc` can finish a teardown a crash
// interrupted.
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { failedPrecondition, isPassvolError, PassvolError, toPassvolError } from '../../common/errors.js';
import { removeUnmounted } from '../../common/scratch-cleanup.js';
import type { Exec } from '../../common/exec.js';
import type { Logger } from '../../common/logger.js';
import { DEFAULT_RS_SHIM_ROOT, monitorSocketPath, type RecordStore } from '../../directvolume/index.js';
import { guestNetwork, MAX_GUEST_NETWORKS, type AgentEvent, type ContainerResources, type GuestNetwork, type OpResult } from '../../protocol/index.js';
import { AgentClient } from '../agent-client.js';
import { TemplateRestoreError, type BlockBackendSettings } from '../hypervisor.js';
import { startMonitorServer, stopMonitorServer, type DirectVolumeOps } from '../monitor/monitor-server.js';
import { sandboxMetricsText, type SandboxMetricsSource } from '../monitor/sandbox-metrics.js';
import { directVolumeOps } from './sandbox-volume-ops.js';
import { bindIntoPodShare, MOUNTS_DIR, planShares, preparePodShare, releaseShares } from './sandbox-shares.js';
import { shareKey } from '../volumes/shared-volume.js';
import type { Bundle } from '../oci/bundle.js';
import { planForwards, splitNfsDevice, type NfsForward } from '../volumes/nfs-forwarding.js';
import type { AttachedVolume, VolumeContext } from '../volumes/sandbox-volume.js';
import { VolumeBinding } from '../volumes/volume-binding.js';
import { planMounts, type PlannedMount } from '../volumes/volume-plan.js';
import { attachVolumes } from './sandbox-volumes.js';
import { connectTap, disconnectPodNetwork, podNetnsOf, podNetworkOverlap, readPodNetwork, type PodNetwork } from '../network/pod-network.js';
import { processStartTicks, type SandboxDirs, type SandboxState } from './sandbox-dir.js';
import type { GuestImagePaths, LaunchVm, SandboxVm, SandboxVmSpec } from './sandbox-vm.js';
import type { VmTemplate, VmTemplates } from './vm-templates.js';
import { podLimitsOf, sandboxSize, type SandboxSize } from './sandbox-size.js';
import { containerLimitsOf } from './container-limits.js';
import { cgroupDir, cgroupHierarchies, joinCgroup, leaveCgroup, podCgroupPathOf, type JoinedCgroup } from './pod-cgroup.js';

export interface SandboxDeps {
  records: RecordStore;
  dirs: SandboxDirs;
  launchVm: LaunchVm;
  exec: Exec;
  log: Logger;
  image: GuestImagePaths;
  goShimRoot: string;
  /** The VM's size before the pod's limits are added (see sandbox-size.ts). */
  memoryMiB?: number;
  cpus?: number;
  shareKind?: 'virtiofs' | '9p';
  /** How passed-through disks are opened on the host; the defaults suit most hosts. */
  blockBackend?: Partial<BlockBackendSettings>;
  /** How long the guest may take to boot and answer (TCG is slow). */
  agentTimeoutMs?: number;
  /** Start sandboxes from VM templates (see vm-templates.ts); off when unset. */
  templates?: VmTemplates;
}

const SHARE_ROOT = '/run/passvol/shares';
/** A scrape waits this long for the guest's figures, then goes without them. */
const METRICS_AGENT_MS = 2000;
/** The sandbox whose pod cgroup this process is in, if any. */
let joinedBy: string | undefined;
const DEFAULT_MEMORY_MIB = 512;
/** The tag of the one share every container added to the sandbox comes through. */
const POD_SHARE_TAG = 'pod';
/** A clone's agent answers within a second or two; one that does not is a template gone bad. */
const CLONE_READY_MS = 15_000;
const CLONE_PING_MS = 100;
/** How long a clone's hot-plugged share or NIC may take to appear in the guest. */
const HOTPLUG_WAIT_MS = 10_000;
const NIC_WAIT_MS = 30_000;
/** The agent's id of the container made from the sandbox's own bundle; added containers keep theirs. */
export const MAIN_CONTAINER = 'main';
const MAIN = MAIN_CONTAINER;

export type ContainerStatus = 'created' | 'running' | 'stopped';

/** A container of the sandbox, as its shim reports it. */
export interface ContainerInfo {
  id: string;
  bundle: string;
  status: ContainerStatus;
  pid?: number;
  exitCode?: number;
  /** When it was created (ISO 8601). */
  createdAt: string;
}

interface SandboxContainer extends ContainerInfo {
  readonly source: Bundle;
  /** The sandbox's volumes it binds in: one goes when no container uses it. */
  readonly volumes: Set<AttachedVolume>;
  /** Its folder of binds in the sandbox's folder (an added container's). */
  readonly bindsDir?: string;
  /** Where the guest has its bound folders (the pod share's submounts), to let go of at removal. */
  guestFolders?: string[];
  output?: (stream: 'stdout' | 'stderr', data: Buffer) => void;
}

export interface SandboxTimings {
  bootMs: number;
  volumeMs: Record<string, number>;
}

export class Sandbox {
  readonly timings: SandboxTimings = { bootMs: 0, volumeMs: {} };
  private readonly attached: AttachedVolume[] = [];
  private monitor: Server | undefined;
  private agent: AgentClient | undefined;
  private vm: SandboxVm | undefined;
  private state: SandboxState;
  private seq = 0;
  private destroying = false;
  private readonly containers = new Map<string, SandboxContainer>();
  private containerSeq = 0;
  private containerOps: Promise<unknown> = Promise.resolve();
  /** The pod share's folders, and how far its setup got (see podShare()). */
  private podShareDirs: { mountsDir: string; shareDir: string } | undefined;
  private podShareStep: 'none' | 'plugged' | 'mounted' = 'none';
  /** The pod's network the guest has (its interfaces and routes), once attached. */
  private podNetwork: PodNetwork | undefined;
  /** The VM's memory and vCPUs: the base and the pod's limits. */
  private size: SandboxSize;
  /** The pod's cgroup this process joined, so that the VM and its helpers count with the pod. */
  private cgroup: JoinedCgroup | undefined;
  /**
   * Guest networks the VM has: network 0 when it booted with forwards, then one per reachServers. One
   * plugged but not yet configured in the guest (setupNetwork failed) is tried again before it is used.
   */
  private readonly networks: { network: GuestNetwork; forwards: readonly NfsForward[]; configured: boolean }[] = [];

  /** The NFS servers the guest reaches, on every guest network it has. */
  private get forwards(): NfsForward[] {
    return this.networks.flatMap((n) => n.forwards);
  }

  private constructor(
    readonly id: string,
    readonly bundle: Bundle,
    private readonly deps: SandboxDeps,
  ) {
    const runtimeStart = processStartTicks(process.pid);
    this.state = { id, bundle: bundle.dir, status: 'creating', runtimePid: process.pid, ...(runtimeStart !== undefined ? { runtimeStart } : {}), createdAt: new Date().toISOString(), boundVolumes: [] };
    this.size = { memoryMiB: deps.memoryMiB ?? DEFAULT_MEMORY_MIB, cpus: deps.cpus ?? 1 };
  }

  get monitorSocket(): string {
    return monitorSocketPath(this.deps.goShimRoot, this.id);
  }

  get accel(): string {
    return this.vm?.accel ?? 'none';
  }

  get shareKind(): string {
    return this.vm?.shareKind ?? 'none';
  }

  /** The VM's pid (0 before it runs). */
  get vmPid(): number {
    return this.state.vmPid ?? 0;
  }

  /** Whether its VM was restored from a VM template rather than booted. */
  get fromTemplate(): boolean {
    return this.vm?.fromTemplate ?? false;
  }

  /** Boots the VM, attaches every volume, creates the container. On failure, undoes what it did. */
  static async create(id: string, bundle: Bundle, deps: SandboxDeps): Promise<Sandbox> {
    const sb = new Sandbox(id, bundle, deps);
    await deps.dirs.create(id);
    try {
      await sb.boot();
      return sb;
    } catch (e) {
      await sb.destroy().catch((d: Error) => deps.log.warn({ err: d.message }, 'cleanup after a failed create'));
      throw e;
    }
  }

  /**
   * Starts the VM and connects its agent: from a VM template when templates are on and the sandbox shares
   * over virtio-fs (9p devices cannot be hot-plugged into a clone), booting otherwise. A clone that cannot
   * start or whose agent never answers is stopped and the sandbox boots; the template is discarded only
   * when it was the template that failed (the restore, or a dead guest), not for a missing slot or space.
   */
  private async startGuest(spec: SandboxVmSpec, template: VmTemplate | undefined, log: Logger): Promise<{ vm: SandboxVm; agent: AgentClient }> {
    if (template && this.deps.templates) {
      try {
        return await this.launchAndConnect({ ...spec, template }, log, CLONE_READY_MS);
      } catch (e) {
        const templateFailed = e instanceof TemplateRestoreError || (isPassvolError(e) && e.code === 'PV_ERR_TIMEOUT');
        log.warn({ err: (e as Error).message, template: template.dir, discarded: templateFailed }, 'cannot start from the VM template; booting');
        if (templateFailed) await this.deps.templates.discard(template);
      }
    }
    return this.launchAndConnect(spec, log, this.deps.agentTimeoutMs ?? 60_000);
  }

  /**
   * The VM template to start from, made first if need be: when templates are on, the sandbox shares over
   * virtio-fs (9p devices cannot be hot-plugged into a clone) and the VM has the base size. Pods sized for
   * their limits boot: a template per shape would be a boot and a RAM file each, kept for ever. Fetched
   * before the pod's cgroup is joined, so that making it is not counted to the first pod that needs it.
   */
  private async templateFor(spec: Pick<SandboxVmSpec, 'image' | 'memoryMiB' | 'cpus' | 'shareKind'>, base: SandboxSize, log: Logger): Promise<VmTemplate | undefined> {
    const { templates } = this.deps;
    if (!templates || spec.shareKind !== 'virtiofs') return undefined;
    if (spec.memoryMiB !== base.memoryMiB || spec.cpus !== base.cpus) {
      log.info({ memoryMiB: spec.memoryMiB, cpus: spec.cpus }, "booting: VM templates are made at the base size, and this pod's VM is sized for its limits");
      return undefined;
    }
    try {
      return await templates.get({ image: spec.image, memoryMiB: spec.memoryMiB, cpus: spec.cpus });
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'no VM template; booting');
      return undefined;
    }
  }

  private async launchAndConnect(spec: SandboxVmSpec, log: Logger, readyMs: number): Promise<{ vm: SandboxVm; agent: AgentClient }> {
    const vm = await this.deps.launchVm(spec);
    this.state.vmPid = vm.pid;
    await this.save();
    try {
      const agent = await AgentClient.connect(vm.agentSocket, log.child({ part: 'agent' }), 10_000);
      try {
        await agent.waitReady(readyMs, spec.template ? CLONE_PING_MS : undefined);
      } catch (e) {
        agent.close();
        throw e;
      }
      return { vm, agent };
    } catch (e) {
      await vm.stop().catch(() => undefined);
      throw e;
    }
  }

  private async save(): Promise<void> {
    await this.deps.dirs.write(this.state);
  }

  private async boot(): Promise<void> {
    const { deps, bundle } = this;
    const log = deps.log.child({ sandbox: this.id });
    await this.save();
    const limits = podLimitsOf(bundle.spec);
    // The container's own limits are checked now too: a bundle the kernel would refuse fails before a VM starts.
    containerLimitsOf(bundle.spec);
    const base = { memoryMiB: deps.memoryMiB ?? DEFAULT_MEMORY_MIB, cpus: deps.cpus ?? 1 };
    const size = sandboxSize(base, limits, { cpus: availableParallelism(), memoryMiB: Math.floor(totalmem() / 1024 / 1024) });
    this.size = { memoryMiB: size.memoryMiB, cpus: size.cpus };
    this.state.vmSize = this.size;
    if (limits.from !== 'none') log.info({ ...this.size, limits }, "the VM is sized for the pod's limits");
    if (size.capped.length > 0) log.warn({ capped: size.capped }, "the pod's limits exceed the host");
    const plans = await planMounts(bundle.spec.mounts, deps.records);
    const shares = await planShares(bundle.rootfs, plans, deps.dirs.dir(this.id), deps.exec);
    const forwards = await planForwards(plans.filter((p) => p.kind === 'direct-nfs').map((p) => (p.kind === 'direct-nfs' ? splitNfsDevice(p.record.mountInfo.device).server : '')));
    // The pod's network is read before the VM starts: a namespace passvol cannot pass fails the create early.
    const netns = podNetnsOf(bundle.spec);
    const podNetwork = netns ? await readPodNetwork(deps.exec, this.id, netns) : undefined;
    if (netns && !podNetwork) log.info({ netns }, "the pod's network namespace has no interface to pass: the guest has no pod network");
    const shadowed = podNetwork && forwards.length > 0 ? podNetworkOverlap(podNetwork, guestNetwork(0)) : undefined;
    if (shadowed) throw failedPrecondition(`the pod's network (${shadowed}) overlaps ${guestNetwork(0).prefix}.0/24, which the guest's network to its NFS servers uses`);
    const vmSpec: SandboxVmSpec = {
      id: this.id,
      stateDir: deps.dirs.dir(this.id),
      image: deps.image,
      memoryMiB: this.size.memoryMiB,
      cpus: this.size.cpus,
      shares: shares.map((s) => ({ tag: s.tag, hostDir: s.hostDir })),
      shareKind: deps.shareKind ?? 'virtiofs',
      nfsForwards: forwards,
      volumeModules: plans.some((p) => p.kind === 'direct-block' && p.record.mountInfo.fstype === 'xfs') ? ['xfs'] : [],
    };
    const template = await this.templateFor(vmSpec, base, log);
    await this.joinPodCgroup(log);
    const started = Date.now();
    const guest = await this.startGuest(vmSpec, template, log);
    this.vm = guest.vm;
    this.agent = guest.agent;
    void this.vm.exited.then(() => this.onVmExit());
    this.agent.on('event', (e) => this.onEvent(e));
    this.agent.on('restarted', () => void this.onContainerLost('the guest agent restarted'));
    if (this.vm.fromTemplate) {
      const clock = await this.agent.call('setClock', { epochMs: Date.now() });
      log.debug(clock, 'guest clock set');
      // The NIC was hot-plugged after the restore: init, long done, did not configure it.
      if (forwards.length > 0) await this.agent.call('setupNetwork', { waitMs: HOTPLUG_WAIT_MS });
    }
    this.timings.bootMs = Date.now() - started;
    log.info({ ms: this.timings.bootMs, accel: this.vm.accel, fromTemplate: this.vm.fromTemplate }, 'guest agent ready');
    if (podNetwork) await this.attachPodNetwork(podNetwork, log);

    const shareMounts = new Map<string, string>();
    for (const s of shares) {
      const target = `${SHARE_ROOT}/${s.tag}`;
      // A clone's shares were hot-plugged a moment ago: the guest may still be probing them.
      await this.agent.call('mount', { source: { kind: this.vm.shareKind, tag: s.tag }, target, fstype: this.vm.shareKind, options: [], ...(this.vm.fromTemplate ? { deviceWaitMs: HOTPLUG_WAIT_MS } : {}) });
      for (const [hostPath, relative] of s.entries) shareMounts.set(hostPath, relative ? `${target}/${relative}` : target);
    }
    if (forwards.length > 0) this.networks.push({ network: guestNetwork(0), forwards, configured: true });
    const main: SandboxContainer = { id: MAIN, bundle: bundle.dir, source: bundle, status: 'created', createdAt: new Date().toISOString(), volumes: new Set() };
    this.containers.set(MAIN, main);
    await this.createContainer(main, bundle, plans, shareMounts, log);
    this.monitor = await startMonitorServer(this.monitorSocket, this.volumeOps(), log, () => sandboxMetricsText(this.metricsSource()));
    this.state.monitorSocket = this.monitorSocket;
    this.state.status = 'created';
    await this.save();
  }

  /**
   * Joins the cgroup the pod's sandbox names before anything of the VM starts: what this process starts
   * after is in it. One sandbox's per process (the shim holds one pod): a second is refused, as it would
   * count one pod's VM with another's.
   */
  private async joinPodCgroup(log: Logger): Promise<void> {
    const wanted = podCgroupPathOf(this.bundle.spec);
    if (!wanted) return;
    if (wanted.kind === 'unsupported') {
      log.warn({ cgroupsPath: wanted.path, why: wanted.why }, "the VM stays in the runtime's cgroup, not the pod's");
      return;
    }
    if (joinedBy !== undefined) throw failedPrecondition(`this runtime process already holds sandbox ${joinedBy} in its pod's cgroup: sandbox ${this.id} (cgroup ${wanted.path}) needs a runtime of its own`);
    // Claimed before the first await: two sandboxes booting at once cannot both join.
    joinedBy = this.id;
    try {
      const hierarchies = await cgroupHierarchies();
      // Listed before they are made: after a crash, gc removes them.
      this.state.cgroupDirs = hierarchies.map((h) => cgroupDir(h, wanted.path));
      await this.save();
      this.cgroup = await joinCgroup(wanted.path, hierarchies, log);
    } catch (e) {
      joinedBy = undefined;
      // None made (joinCgroup undoes its own), and none to remove: a cgroup there already is another's.
      delete this.state.cgroupDirs;
      throw e;
    }
    log.info({ cgroup: wanted.path, hierarchies: this.cgroup.dirs.length }, "joined the pod's cgroup");
  }

  /** Plugs a NIC per pod interface, redirects the interface to its tap, and has the guest take its addresses and routes. */
  private async attachPodNetwork(net: PodNetwork, log: Logger): Promise<void> {
    const started = Date.now();
    // Recorded before any redirect exists: after a crash, gc takes off what was done.
    this.state.podNetwork = { netns: net.netns, interfaces: net.interfaces.map((i) => i.name) };
    await this.save();
    for (const [index, iface] of net.interfaces.entries()) {
      await (this.vm as SandboxVm).addPodNic(index, iface.tap, iface.mac);
      await connectTap(this.deps.exec, net.netns, iface, iface.tap);
    }
    if (net.skipped.length > 0) log.warn({ routes: net.skipped }, "routes of the pod's namespace the guest does not get");
    this.podNetwork = net;
    const interfaces = net.interfaces.map(({ tap: _tap, ...i }) => i);
    await (this.agent as AgentClient).call('setupPodNetwork', { waitMs: NIC_WAIT_MS, interfaces, routes: net.routes }, NIC_WAIT_MS + 10_000);
    log.info({ ms: Date.now() - started, netns: net.netns, interfaces: interfaces.map((i) => `${i.name} ${i.addresses.join(' ')}`), routes: net.routes.length }, 'pod network passed to the guest');
  }

  private volumeContext(shares: ReadonlyMap<string, string>, log: Logger): VolumeContext {
    const { deps } = this;
    return {
      sandboxId: this.id,
      agent: this.agent as AgentClient,
      vm: this.vm as SandboxVm,
      binding: new VolumeBinding(deps.records, deps.dirs, deps.exec, log, (id) => [monitorSocketPath(deps.goShimRoot, id), monitorSocketPath(DEFAULT_RS_SHIM_ROOT, id)]),
      forwards: this.forwards,
      shares,
      log,
      ...(deps.blockBackend ? { blockBackend: deps.blockBackend } : {}),
      nextName: () => `v${++this.seq}`,
      guestMemoryBytes: this.size.memoryMiB * 1024 * 1024,
    };
  }

  /** Attaches what a container's mounts need (reusing the sandbox's volumes) and has the agent create it. */
  private async createContainer(c: SandboxContainer, bundle: Bundle, plans: readonly PlannedMount[], shareMounts: ReadonlyMap<string, string>, log: Logger): Promise<void> {
    // Checked before anything is attached: limits the kernel would refuse fail the create, changing nothing.
    const resources = containerLimitsOf(bundle.spec);
    const ctx = this.volumeContext(shareMounts, log);
    const { mounts, used } = await attachVolumes(
      plans,
      ctx,
      async (v, destination, ms) => {
        this.attached.push(v);
        c.volumes.add(v);
        if (!v.volumePath) return;
        this.timings.volumeMs[destination] = ms;
        this.state.boundVolumes.push({ volumePath: v.volumePath, device: v.device ?? '', kind: v.kind === 'direct-nfs' ? 'nfs' : 'block', ...(v.hotplugId ? { hotplugId: v.hotplugId } : {}) });
        await this.save();
      },
      (identity) => this.attached.find((v) => (v.volumePath ?? v.identity) === identity),
    );
    for (const v of used) c.volumes.add(v);
    const p = bundle.spec.process;
    await (this.agent as AgentClient).call('createContainer', {
      containerId: c.id,
      rootfs: shareMounts.get(shareKey(bundle.rootfs, false)) as string,
      rootfsReadonly: bundle.spec.root.readonly,
      mounts,
      process: {
        args: p.args,
        env: p.env,
        cwd: p.cwd,
        uid: p.user.uid,
        gid: p.user.gid,
        additionalGids: p.user.additionalGids ?? [],
        ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: p.oomScoreAdj } : {}),
        ...(p.noNewPrivileges !== undefined ? { noNewPrivileges: p.noNewPrivileges } : {}),
        ...(p.capabilities
          ? { capabilities: { bounding: p.capabilities.bounding ?? [], effective: p.capabilities.effective ?? [], permitted: p.capabilities.permitted ?? [], inheritable: p.capabilities.inheritable ?? [], ambient: p.capabilities.ambient ?? [] } }
          : {}),
        terminal: p.terminal,
        ...(p.consoleSize ? { terminalSize: { rows: p.consoleSize.height, cols: p.consoleSize.width } } : {}),
      },
      resources,
    });
  }

  /**
   * Adds a container to the running sandbox (a pod's other containers): its rootfs, shared folders and files
   * are bound into the pod share (plugged with the first one added), and a volume the sandbox already has
   * is bound in without attaching it again. NAS volumes on servers the guest does not reach yet get a guest network of their own. On
   * failure what it set up is undone (a network added for it stays: the guest may need it again); should
   * that fail too, the container stays listed so that removing it retries the cleanup.
   */
  addContainer(id: string, bundle: Bundle): Promise<void> {
    return this.serially(() => this.add(id, bundle));
  }

  /**
   * Removes an added container: its processes are killed, then what only it used goes (volumes unmounted
   * in the guest and unplugged, bindings released; its binds in the pod share unmounted; pod memory stays
   * until the sandbox ends). Each step is forgotten once done, so after a failure removing it again resumes
   * where it stopped.
   */
  removeContainer(id: string): Promise<void> {
    return this.serially(() => this.remove(id));
  }

  /** Adds and removals one at a time: both read and change which volumes and shares the sandbox has. */
  private serially<T>(op: () => Promise<T>): Promise<T> {
    const run = this.containerOps.then(op, op);
    this.containerOps = run.catch(() => undefined);
    return run;
  }

  private async add(id: string, bundle: Bundle): Promise<void> {
    if (!this.agent || !this.vm) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    if (this.containers.has(id)) throw new PassvolError('PV_ERR_ALREADY_EXISTS', `sandbox ${this.id} already has a container ${id}`);
    const log = this.deps.log.child({ sandbox: this.id, container: id });
    const plans = await planMounts(bundle.spec.mounts, this.deps.records);
    // Checked here too, before a network is plugged for a container the sandbox cannot hold.
    if (this.vm.shareKind !== 'virtiofs') throw failedPrecondition('this sandbox shares over 9p, whose devices cannot be hot-plugged: it holds one container');
    const servers = new Set(plans.flatMap((p) => (p.kind === 'direct-nfs' ? [splitNfsDevice(p.record.mountInfo.device).server] : [])));
    if (servers.size > 0) await this.reachServers([...servers], log);
    // Keys are never reused: a new container must not land in the folder of another.
    const key = `k${++this.containerSeq}`;
    const bindsDir = join(this.deps.dirs.dir(this.id), MOUNTS_DIR, key);
    if (existsSync(bindsDir)) throw new PassvolError('PV_ERR_INTERNAL', `${bindsDir} exists already; it belongs to another container`);
    const c: SandboxContainer = { id, bundle: bundle.dir, source: bundle, status: 'created', createdAt: new Date().toISOString(), volumes: new Set(), bindsDir };
    this.containers.set(id, c);
    try {
      const { entries, folders } = await bindIntoPodShare(await this.podShare(log), key, bundle.rootfs, plans, this.deps.exec);
      const inGuest = (relative: string) => `${SHARE_ROOT}/${POD_SHARE_TAG}/${relative}`;
      c.guestFolders = folders.map(inGuest);
      const shareMounts = new Map([...entries].map(([hostKey, relative]) => [hostKey, inGuest(relative)]));
      await this.createContainer(c, bundle, plans, shareMounts, log);
      log.info({ volumes: c.volumes.size }, 'container added');
    } catch (e) {
      try {
        await this.remove(id);
      } catch (d) {
        c.status = 'stopped';
        throw new PassvolError(toPassvolError(e).code, `${(e as Error).message}; undoing it failed too (${(d as Error).message}): \`passvol delete ${id} --sandbox ${this.id}\` retries`, { cause: e });
      }
      throw e;
    }
  }

  /**
   * The pod share, made when the first container is added: one virtio-fs share (one hot-plug slot, one
   * virtiofsd) for every container added after the first, which the guest mounts at SHARE_ROOT/pod.
   * Submounts are announced, so each bound folder is a mount of its own in the guest (its own st_dev).
   * Each step is done once; after a failure the next container resumes at the step that failed.
   * Returns the folder binds are made in.
   */
  private async podShare(log: Logger): Promise<string> {
    const dir = this.deps.dirs.dir(this.id);
    this.podShareDirs ??= await preparePodShare(dir, this.deps.exec);
    if (this.podShareStep === 'none') {
      await (this.vm as SandboxVm).addShare(POD_SHARE_TAG, this.podShareDirs.shareDir, { announceSubmounts: true });
      this.podShareStep = 'plugged';
    }
    if (this.podShareStep === 'plugged') {
      await (this.agent as AgentClient).call('mount', { source: { kind: 'virtiofs', tag: POD_SHARE_TAG }, target: `${SHARE_ROOT}/${POD_SHARE_TAG}`, fstype: 'virtiofs', options: [], deviceWaitMs: HOTPLUG_WAIT_MS });
      this.podShareStep = 'mounted';
      log.info({ tag: POD_SHARE_TAG }, 'pod share plugged for added containers');
    }
    return this.podShareDirs.mountsDir;
  }

  /**
   * Makes sure the guest reaches these NFS servers. Those it does not reach yet get a network of their own
   * (the next subnet): QEMU cannot add forwards to a running user network. Networks stay until the VM
   * ends (a restarted container, which comes back with the same volumes, reuses its network); one that
   * was plugged but that the guest did not configure is configured again, not plugged twice.
   */
  private async reachServers(servers: readonly string[], log: Logger): Promise<void> {
    const networkOf = (server: string) => this.networks.find((n) => n.forwards.some((f) => f.server === server));
    const unreached = servers.filter((s) => !networkOf(s));
    if (unreached.length > 0) {
      if (this.networks.length >= MAX_GUEST_NETWORKS) throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `sandbox ${this.id} has all ${MAX_GUEST_NETWORKS} guest networks it may have: no room for NFS servers ${unreached.join(', ')}`);
      const network = guestNetwork(this.networks.length);
      const shadowed = this.podNetwork ? podNetworkOverlap(this.podNetwork, network) : undefined;
      if (shadowed) throw failedPrecondition(`NFS servers ${unreached.join(', ')} need a guest network, and the next one (${network.prefix}.0/24) overlaps the pod's network (${shadowed})`);
      const forwards = await planForwards(unreached, undefined, network);
      await (this.vm as SandboxVm).addNetwork(network, forwards);
      this.networks.push({ network, forwards, configured: false });
      log.info({ network: network.index, subnet: `${network.prefix}.0/24`, servers: unreached }, 'guest network plugged for NFS servers');
    }
    for (const n of new Set(servers.map(networkOf))) {
      if (!n || n.configured) continue;
      // The NIC's driver (virtio_net, with the NFS modules) may still be loading in a sandbox that booted
      // without NAS volumes moments ago: under TCG the late modules are in ~10 s after boot.
      await (this.agent as AgentClient).call('setupNetwork', { waitMs: NIC_WAIT_MS, mac: n.network.mac, address: n.network.address }, NIC_WAIT_MS + 10_000);
      n.configured = true;
    }
  }

  private async remove(id: string): Promise<void> {
    if (id === MAIN) throw failedPrecondition(`the sandbox's own container goes with the sandbox: delete sandbox ${this.id}`);
    const c = this.containers.get(id);
    if (!c) throw new PassvolError('PV_ERR_NOT_FOUND', `sandbox ${this.id} has no container ${id}`);
    const agent = this.agent as AgentClient;
    await agent.call('deleteContainer', { containerId: id, force: true }, 30_000).catch((e: PassvolError) => {
      if (e.code !== 'PV_ERR_NOT_FOUND' && !/no container/.test(e.message)) throw e;
    });
    c.status = 'stopped';
    const stillUsed = new Set([...this.containers.values()].filter((o) => o !== c).flatMap((o) => [...o.volumes]));
    for (const v of [...c.volumes].reverse()) {
      // Pod memory stays with the sandbox: a container restarted by kubelet finds its emptyDir as it left it.
      if (!stillUsed.has(v) && v.kind !== 'pod-tmpfs') {
        await v.detach();
        this.attached.splice(this.attached.indexOf(v), 1);
        this.state.boundVolumes = this.state.boundVolumes.filter((b) => b.volumePath !== v.volumePath);
        await this.save();
      }
      c.volumes.delete(v);
    }
    // The guest lets go of the container's folders (its submounts of the pod share): their inodes are
    // forgotten, so virtiofsd closes what it held of them. Then the binds go on the host, which reaches the
    // pod share's virtiofsd too (lazily, for whatever it still holds).
    for (const target of c.guestFolders ?? []) {
      await agent.call('unmount', { target }).catch((e: Error) => this.deps.log.warn({ sandbox: this.id, container: id, target, err: e.message }, 'the guest kept a folder of the removed container'));
    }
    c.guestFolders = [];
    if (c.bindsDir) {
      await removeUnmounted(c.bindsDir);
    }
    this.containers.delete(id);
  }

  /**
   * The VM ended without destroy(): the container is gone with it, so the monitor socket stops answering
   * (a caller gets "no sandbox" rather than a hung request) and pending agent calls fail. Bindings stay
   * until destroy() or `passvol gc`: the data on the disks is intact and the next sandbox may take them.
   */
  private async onVmExit(): Promise<void> {
    if (this.destroying) return;
    this.agent?.close();
    await this.onContainerLost('the sandbox VM exited on its own');
  }

  /** The container is gone (VM or agent lost): the monitor stops answering and the state says stopped. */
  private async onContainerLost(why: string): Promise<void> {
    if (this.destroying) return;
    this.deps.log.warn({ sandbox: this.id }, `${why}; the container is gone`);
    if (this.monitor) {
      const monitor = this.monitor;
      this.monitor = undefined;
      await stopMonitorServer(monitor, this.monitorSocket).catch(() => undefined);
    }
    this.state.status = 'stopped';
    await this.save().catch(() => undefined);
  }

  private onEvent(e: AgentEvent): void {
    if (e.event === 'log') this.deps.log.debug({ sandbox: this.id, guest: e.msg, ...e.fields }, 'guest log');
    else if ((e.event === 'stdout' || e.event === 'stderr') && e.execId === e.containerId) this.containers.get(e.containerId)?.output?.(e.event, Buffer.from(e.data, 'base64'));
  }

  /** Its agent's client, once the guest answered: what every guest call goes through. */
  private connected(): AgentClient {
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    return this.agent;
  }

  private container(id: string | undefined): SandboxContainer {
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    const c = this.containers.get(id ?? MAIN);
    if (!c) throw new PassvolError('PV_ERR_NOT_FOUND', `sandbox ${this.id} has no container ${id}`);
    return c;
  }

  /** The containers, the sandbox's own (id "main") first. */
  listContainers(): ContainerInfo[] {
    return [...this.containers.values()].map(({ id, bundle, status, pid, exitCode, createdAt }) => ({ id, bundle, status, createdAt, ...(pid ? { pid } : {}), ...(exitCode !== undefined ? { exitCode } : {}) }));
  }

  /** Starts a container's process (the sandbox's own unless `container` names another); its output goes to `onOutput`. */
  async start(onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void, container?: string): Promise<number> {
    const c = this.container(container);
    c.output = onOutput;
    const { pid } = await this.agent!.call('startProcess', { containerId: c.id, execId: c.id });
    c.status = 'running';
    c.pid = pid;
    if (c.id === MAIN) {
      this.state.status = 'running';
      await this.save();
    }
    return pid;
  }

  /** Waits for a container's process to exit, however long it runs, and returns its exit code. */
  async wait(container?: string): Promise<number> {
    const c = this.container(container);
    const r = await this.waitProcess(c.id, c.id);
    c.status = 'stopped';
    c.exitCode = r.exitCode;
    if (c.id === MAIN) {
      this.state.status = 'stopped';
      this.state.exitCode = r.exitCode;
      await this.save();
    }
    return r.exitCode;
  }

  /** A process's exit, however long it runs: each agent wait has a time limit of its own. */
  private async waitProcess(containerId: string, execId: string): Promise<{ exitCode: number }> {
    for (;;) {
      const r = await this.agent!.call('wait', { containerId, execId }, 600_000).catch((e: unknown) => {
        if (toPassvolError(e).code === 'PV_ERR_TIMEOUT') return undefined;
        throw e;
      });
      if (r) return r;
    }
  }

  /** Signals a container's process; with `all`, every process in the container (as `runc kill --all`). */
  async kill(signal: string | number, container?: string, all = false): Promise<void> {
    const c = this.container(container);
    await this.agent!.call('signal', { containerId: c.id, execId: c.id, signal: signal as never, ...(all ? { all } : {}) });
  }

  /** Freezes every process of a container (the sandbox's own unless `container` names another), or thaws them. */
  async freezeContainer(frozen: boolean, container?: string): Promise<void> {
    const c = this.container(container);
    await this.connected().call('freezeContainer', { containerId: c.id, frozen });
  }

  /** Sets the window size of a process's terminal: a container's own (no `execId`) or one of its execs. */
  async resizeTerminal(rows: number, cols: number, container?: string, execId?: string): Promise<void> {
    const c = this.container(container);
    await this.connected().call('resizeTerminal', { containerId: c.id, execId: execId ?? c.id, rows, cols });
  }

  /** New limits for a container's cgroup in the guest (the VM keeps its size). */
  async updateContainer(resources: ContainerResources, container?: string): Promise<void> {
    const c = this.container(container);
    await this.connected().call('updateContainer', { containerId: c.id, resources });
  }

  /** The figures of a container's cgroup in the guest (the sandbox's own unless `container` names another). */
  async stats(container?: string, timeoutMs?: number): Promise<OpResult<'containerStats'>> {
    const c = this.container(container);
    return this.connected().call('containerStats', { containerId: c.id }, timeoutMs);
  }

  /** Feeds a container process's stdin (the sandbox's own unless `container` names another); `end` closes it (the process sees EOF). */
  async stdin(data: Buffer | 'end', container?: string): Promise<void> {
    const c = this.container(container);
    const ref = { containerId: c.id, execId: c.id };
    if (data === 'end') await this.agent?.call('closeStdin', ref);
    else await this.agent?.call('writeStdin', { ...ref, data: data.toString('base64') });
  }

  /**
   * Runs a command inside the container (like `exec`), returning its exit code and output. It runs as the
   * container's process does (user, environment) unless told otherwise; `env` entries override by name.
   */
  async exec(
    args: string[],
    /** `keepStdin`: leave the process's stdin open for execStdin(); otherwise it is closed at once (not a terminal's). */
    o: { cwd?: string; env?: readonly string[]; user?: { uid: number; gid: number }; container?: string; keepStdin?: boolean; terminal?: { rows: number; cols: number } | true } = {},
    onOutput?: (stream: 'stdout' | 'stderr', data: Buffer) => void,
    /** Told the exec id once the process runs (for execStdin() and abandonExec()). */
    onStarted?: (execId: string) => void,
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const c = this.container(o.container);
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    // Not the container's own id, which its init process has as its exec id.
    let execId = `x${++this.seq}`;
    if (execId === c.id) execId = `x${++this.seq}`;
    let stdout = '';
    let stderr = '';
    // Given `onOutput`, the output goes there as it comes (and is not kept); otherwise it is returned at the end.
    const listener = (e: AgentEvent) => {
      if ((e.event === 'stdout' || e.event === 'stderr') && e.execId === execId) {
        const data = Buffer.from(e.data, 'base64');
        if (onOutput) onOutput(e.event, data);
        else if (e.event === 'stdout') stdout += data.toString();
        else stderr += data.toString();
      }
    };
    this.agent.on('event', listener);
    try {
      const p = c.source.spec.process;
      const name = (e: string) => e.slice(0, e.indexOf('='));
      const overridden = new Set((o.env ?? []).map(name));
      const env = [...p.env.filter((e) => !overridden.has(name(e))), ...(o.env ?? [])];
      const user = o.user ? { uid: o.user.uid, gid: o.user.gid, additionalGids: [] } : { uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.additionalGids ?? [] };
      const terminal = o.terminal ? { terminal: true, ...(o.terminal === true ? {} : { terminalSize: o.terminal }) } : {};
      await this.agent.call('startProcess', { containerId: c.id, execId, process: { args, env, cwd: o.cwd ?? '/', ...user, ...terminal } });
      // No stdin unless asked for: a command that reads it sees its end, as under `docker exec` without -i.
      // A terminal without stdin is left open, as a console no one types at: closing it would type end-of-file.
      if (!o.keepStdin && !o.terminal) await this.agent.call('closeStdin', { containerId: c.id, execId }).catch(() => undefined);
      onStarted?.(execId);
      const r = await this.waitProcess(c.id, execId);
      // Output events may trail the exit by a moment.
      await new Promise((res) => setTimeout(res, 50));
      return { exitCode: r.exitCode, stdout, stderr };
    } finally {
      this.agent.off('event', listener);
    }
  }

  /** Feeds an exec's stdin (one started with `onStarted`); `end` closes it. */
  async execStdin(execId: string, data: Buffer | 'end', container?: string): Promise<void> {
    const c = this.container(container);
    const ref = { containerId: c.id, execId };
    if (data === 'end') await this.agent!.call('closeStdin', ref);
    // The write resolves once the command's pipe takes it: a command that reads late makes it wait.
    else await this.agent!.call('writeStdin', { ...ref, data: data.toString('base64') }, 24 * 3600_000);
  }

  /** Signals a running exec (one started with `onStarted`). */
  async signalExec(execId: string, signal: string | number, container?: string): Promise<void> {
    const c = this.container(container);
    await this.agent!.call('signal', { containerId: c.id, execId, signal: signal as never });
  }

  /** Ends an exec whose caller has gone: its stdin closed, then SIGTERM. Quiet if it has ended already. */
  async abandonExec(execId: string, container?: string): Promise<void> {
    const c = this.container(container);
    const ref = { containerId: c.id, execId };
    await this.agent!.call('closeStdin', ref).catch(() => undefined);
    await this.agent!.call('signal', { ...ref, signal: 'SIGTERM' }).catch(() => undefined);
  }

  /** Guest memory, the agent's own RSS and the load, as the agent reports them. */
  async guestInfo(): Promise<{ memTotalKiB: number; memAvailableKiB: number; agentRssKiB: number }> {
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    return this.agent.call('guestInfo', {});
  }

  /** What its monitor's /metrics reads: the VM's process, the guest, each container's cgroup. */
  private metricsSource(): SandboxMetricsSource {
    const agent = () => this.connected();
    return {
      vmPid: () => this.vm?.pid,
      guestInfo: () => agent().call('guestInfo', {}, METRICS_AGENT_MS),
      containerStats: () =>
        Promise.all([...this.containers.values()].map(async (c) => ({ id: c.id, stats: await agent().call('containerStats', { containerId: c.id }, METRICS_AGENT_MS).catch(() => undefined) }))),
      timings: this.timings,
      fromTemplate: this.fromTemplate,
    };
  }

  volumeOps(): DirectVolumeOps {
    return directVolumeOps({ sandbox: this.id, attached: () => this.attached, agent: () => this.connected(), vm: () => this.vm! });
  }

  /** Unmounts and unplugs every volume, stops the VM and the monitor, releases bindings. Idempotent. */
  async destroy(): Promise<void> {
    const log = this.deps.log.child({ sandbox: this.id });
    this.destroying = true;
    if (this.monitor) {
      await stopMonitorServer(this.monitor, this.monitorSocket).catch(() => undefined);
      this.monitor = undefined;
    }
    // Teardown ends the container (its processes are killed, as a pod's would be), so that every volume
    // can be unmounted in the guest (which writes its data back) before its disk is unplugged.
    if (this.agent) {
      for (const id of [...this.containers.keys()].reverse()) await this.agent.call('deleteContainer', { containerId: id, force: true }, 30_000).catch(() => undefined);
    }
    let detachFailed = false;
    for (const v of this.attached.splice(0).reverse()) {
      await v.detach().catch((e: Error) => {
        detachFailed = true;
        log.warn({ err: e.message, volume: v.volumePath ?? v.guestPath }, 'detach failed; the guest syncs and unmounts it at shutdown');
      });
    }
    // Whatever could not be detached one by one is unmounted and synced by the agent before the VM stops.
    if (detachFailed && this.agent) await this.agent.call('shutdown', {}, 60_000).catch((e: Error) => log.warn({ err: e.message }, 'guest shutdown failed'));
    this.agent?.close();
    if (this.vm) await this.vm.stop();
    // The taps went with QEMU; the redirects on the pod's interfaces are taken off.
    if (this.state.podNetwork) await disconnectPodNetwork(this.deps.exec, this.state.podNetwork.netns, this.state.podNetwork.interfaces);
    releaseShares(this.deps.dirs.dir(this.id));
    for (const b of this.state.boundVolumes) await this.deps.records.releaseSandbox(b.volumePath, this.id).catch(() => undefined);
    // And any binding the state does not list (an attach whose undoing stopped part-way): the VM is gone now.
    for (const entry of await this.deps.records.list().catch(() => [])) {
      if (entry.record?.sandboxId === this.id && entry.volumePath) await this.deps.records.releaseSandbox(entry.volumePath, this.id).catch(() => undefined);
    }
    // Every process of the VM has ended: this one leaves the pod's cgroup, which goes (kubelet removes the pod's).
    if (this.cgroup) {
      const kept = await leaveCgroup(this.cgroup, log);
      this.cgroup = undefined;
      joinedBy = undefined;
      if (kept.length > 0) {
        // Still in use (a process that escaped?): the state stays with them alone, for gc to remove later.
        this.state = { ...this.state, status: 'stopped', boundVolumes: [], cgroupDirs: kept };
        delete this.state.podNetwork;
        await this.save().catch(() => undefined);
        log.warn({ cgroups: kept }, "the pod's cgroup is still in use: `passvol gc` removes it once it is empty");
        await rm(dirname(this.monitorSocket), { recursive: true, force: true });
        return;
      }
    }
    await this.deps.dirs.remove(this.id);
    // The monitor socket's folder (<shim root>/<id>/) is the sandbox's own.
    await rm(dirname(this.monitorSocket), { recursive: true, force: true });
  }
}
