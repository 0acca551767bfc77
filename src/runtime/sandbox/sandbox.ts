// One sandbox: a VM, its agent, the volumes attached to it, one container, and its monitor socket.
// create() boots and prepares everything (the seeds' steps 4-7), start() runs the container process,
// destroy() undoes it all in reverse. Every step is recorded in state.json so `passvol gc` can finish a
// teardown a crash interrupted.
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { rm } from 'node:fs/promises';
import { isPassvolError, PassvolError } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import type { Logger } from '../../common/logger.js';
import { DEFAULT_RS_SHIM_ROOT, monitorSocketPath, type RecordStore } from '../../directvolume/index.js';
import type { AgentEvent } from '../../protocol/index.js';
import { AgentClient } from '../agent-client.js';
import { TemplateRestoreError, type BlockBackendSettings } from '../hypervisor.js';
import { startMonitorServer, stopMonitorServer, type DirectVolumeOps } from '../monitor/monitor-server.js';
import { directVolumeOps } from './sandbox-volume-ops.js';
import { planShares, releaseShares } from './sandbox-shares.js';
import { shareKey } from '../volumes/shared-volume.js';
import type { Bundle } from '../oci/bundle.js';
import { planForwards, splitNfsDevice } from '../volumes/nfs-forwarding.js';
import type { AttachedVolume, VolumeContext } from '../volumes/sandbox-volume.js';
import { VolumeBinding } from '../volumes/volume-binding.js';
import { planMounts } from '../volumes/volume-plan.js';
import { attachVolumes } from './sandbox-volumes.js';
import { processStartTicks, type SandboxDirs, type SandboxState } from './sandbox-dir.js';
import type { GuestImagePaths, LaunchVm, SandboxVm, SandboxVmSpec } from './sandbox-vm.js';
import type { VmTemplate, VmTemplates } from './vm-templates.js';

export interface SandboxDeps {
  records: RecordStore;
  dirs: SandboxDirs;
  launchVm: LaunchVm;
  exec: Exec;
  log: Logger;
  image: GuestImagePaths;
  goShimRoot: string;
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
/** A clone's agent answers within a second or two; one that does not is a template gone bad. */
const CLONE_READY_MS = 15_000;
const CLONE_PING_MS = 100;
/** How long a clone's hot-plugged share or NIC may take to appear in the guest. */
const HOTPLUG_WAIT_MS = 10_000;
const CONTAINER_ID = 'main';

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

  private constructor(
    readonly id: string,
    readonly bundle: Bundle,
    private readonly deps: SandboxDeps,
  ) {
    const runtimeStart = processStartTicks(process.pid);
    this.state = { id, bundle: bundle.dir, status: 'creating', runtimePid: process.pid, ...(runtimeStart !== undefined ? { runtimeStart } : {}), createdAt: new Date().toISOString(), boundVolumes: [] };
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
  private async startGuest(spec: SandboxVmSpec, log: Logger): Promise<{ vm: SandboxVm; agent: AgentClient }> {
    const { templates } = this.deps;
    if (templates && spec.shareKind === 'virtiofs') {
      let template: VmTemplate | undefined;
      try {
        template = await templates.get({ image: spec.image, memoryMiB: spec.memoryMiB, cpus: spec.cpus });
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'no VM template; booting');
      }
      if (template) {
        try {
          return await this.launchAndConnect({ ...spec, template }, log, CLONE_READY_MS);
        } catch (e) {
          const templateFailed = e instanceof TemplateRestoreError || (isPassvolError(e) && e.code === 'PV_ERR_TIMEOUT');
          log.warn({ err: (e as Error).message, template: template.dir, discarded: templateFailed }, 'cannot start from the VM template; booting');
          if (templateFailed) await templates.discard(template);
        }
      }
    }
    return this.launchAndConnect(spec, log, this.deps.agentTimeoutMs ?? 60_000);
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
    const plans = await planMounts(bundle.spec.mounts, deps.records);
    const shares = await planShares(bundle.rootfs, plans, deps.dirs.dir(this.id), deps.exec);
    const forwards = await planForwards(plans.filter((p) => p.kind === 'direct-nfs').map((p) => (p.kind === 'direct-nfs' ? splitNfsDevice(p.record.mountInfo.device).server : '')));
    const started = Date.now();
    const vmSpec: SandboxVmSpec = {
      id: this.id,
      stateDir: deps.dirs.dir(this.id),
      image: deps.image,
      memoryMiB: deps.memoryMiB ?? 512,
      cpus: deps.cpus ?? 1,
      shares: shares.map((s) => ({ tag: s.tag, hostDir: s.hostDir })),
      shareKind: deps.shareKind ?? 'virtiofs',
      nfsForwards: forwards,
      volumeModules: plans.some((p) => p.kind === 'direct-block' && p.record.mountInfo.fstype === 'xfs') ? ['xfs'] : [],
    };
    const guest = await this.startGuest(vmSpec, log);
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

    const shareMounts = new Map<string, string>();
    for (const s of shares) {
      const target = `${SHARE_ROOT}/${s.tag}`;
      // A clone's shares were hot-plugged a moment ago: the guest may still be probing them.
      await this.agent.call('mount', { source: { kind: this.vm.shareKind, tag: s.tag }, target, fstype: this.vm.shareKind, options: [], ...(this.vm.fromTemplate ? { deviceWaitMs: HOTPLUG_WAIT_MS } : {}) });
      for (const [hostPath, relative] of s.entries) shareMounts.set(hostPath, relative ? `${target}/${relative}` : target);
    }
    const ctx: VolumeContext = {
      sandboxId: this.id,
      agent: this.agent,
      vm: this.vm,
      binding: new VolumeBinding(deps.records, deps.dirs, deps.exec, log, (id) => [monitorSocketPath(deps.goShimRoot, id), monitorSocketPath(DEFAULT_RS_SHIM_ROOT, id)]),
      forwards,
      shares: shareMounts,
      log,
      ...(deps.blockBackend ? { blockBackend: deps.blockBackend } : {}),
      nextName: () => `v${++this.seq}`,
    };
    const containerMounts = await attachVolumes(plans, ctx, async (v, destination, ms) => {
      this.attached.push(v);
      if (!v.volumePath) return;
      this.timings.volumeMs[destination] = ms;
      this.state.boundVolumes.push({ volumePath: v.volumePath, device: v.device ?? '', kind: v.kind === 'direct-nfs' ? 'nfs' : 'block', ...(v.hotplugId ? { hotplugId: v.hotplugId } : {}) });
      await this.save();
    });
    const p = bundle.spec.process;
    await this.agent.call('createContainer', {
      containerId: CONTAINER_ID,
      rootfs: shareMounts.get(shareKey(bundle.rootfs, false)) as string,
      rootfsReadonly: bundle.spec.root.readonly,
      mounts: containerMounts,
      process: { args: p.args, env: p.env, cwd: p.cwd, uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.additionalGids ?? [] },
    });
    this.monitor = await startMonitorServer(this.monitorSocket, this.volumeOps(), log);
    this.state.monitorSocket = this.monitorSocket;
    this.state.status = 'created';
    await this.save();
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

  private output: ((e: AgentEvent) => void) | undefined;
  private onEvent(e: AgentEvent): void {
    if (e.event === 'log') this.deps.log.debug({ sandbox: this.id, guest: e.msg, ...e.fields }, 'guest log');
    else this.output?.(e);
  }

  /** Starts the container process; its output goes to `onOutput`. */
  async start(onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void): Promise<number> {
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    this.output = (e) => {
      if (e.event === 'stdout' || e.event === 'stderr') onOutput(e.event, Buffer.from(e.data, 'base64'));
    };
    const { pid } = await this.agent.call('startProcess', { containerId: CONTAINER_ID, execId: CONTAINER_ID });
    this.state.status = 'running';
    await this.save();
    return pid;
  }

  /** Waits for the container process to exit and returns its exit code. */
  async wait(): Promise<number> {
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    const r = await this.agent.call('wait', { containerId: CONTAINER_ID, execId: CONTAINER_ID }, 24 * 3600_000);
    this.state.status = 'stopped';
    this.state.exitCode = r.exitCode;
    await this.save();
    return r.exitCode;
  }

  async kill(signal: string): Promise<void> {
    await this.agent?.call('signal', { containerId: CONTAINER_ID, execId: CONTAINER_ID, signal: signal as never });
  }

  /** Feeds the container process's stdin; `end` closes it (the process sees EOF). */
  async stdin(data: Buffer | 'end'): Promise<void> {
    const ref = { containerId: CONTAINER_ID, execId: CONTAINER_ID };
    if (data === 'end') await this.agent?.call('closeStdin', ref);
    else await this.agent?.call('writeStdin', { ...ref, data: data.toString('base64') });
  }

  /**
   * Runs a command inside the container (like `exec`), returning its exit code and output. It runs as the
   * container's process does (user, environment) unless told otherwise; `env` entries override by name.
   */
  async exec(args: string[], o: { cwd?: string; env?: readonly string[]; user?: { uid: number; gid: number } } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    const execId = `x${++this.seq}`;
    let stdout = '';
    let stderr = '';
    const listener = (e: AgentEvent) => {
      if ((e.event === 'stdout' || e.event === 'stderr') && e.execId === execId) {
        if (e.event === 'stdout') stdout += Buffer.from(e.data, 'base64').toString();
        else stderr += Buffer.from(e.data, 'base64').toString();
      }
    };
    this.agent.on('event', listener);
    try {
      const p = this.bundle.spec.process;
      const name = (e: string) => e.slice(0, e.indexOf('='));
      const overridden = new Set((o.env ?? []).map(name));
      const env = [...p.env.filter((e) => !overridden.has(name(e))), ...(o.env ?? [])];
      const user = o.user ? { uid: o.user.uid, gid: o.user.gid, additionalGids: [] } : { uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.additionalGids ?? [] };
      await this.agent.call('startProcess', { containerId: CONTAINER_ID, execId, process: { args, env, cwd: o.cwd ?? '/', ...user } });
      const r = await this.agent.call('wait', { containerId: CONTAINER_ID, execId }, 600_000);
      // Output events may trail the exit by a moment.
      await new Promise((res) => setTimeout(res, 50));
      return { exitCode: r.exitCode, stdout, stderr };
    } finally {
      this.agent.off('event', listener);
    }
  }

  /** Guest memory, the agent's own RSS and the load, as the agent reports them. */
  async guestInfo(): Promise<{ memTotalKiB: number; memAvailableKiB: number; agentRssKiB: number }> {
    if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${this.id} is not created`);
    return this.agent.call('guestInfo', {});
  }

  volumeOps(): DirectVolumeOps {
    const sandbox = this.id;
    const agent = () => {
      if (!this.agent) throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `sandbox ${sandbox} is not created`);
      return this.agent;
    };
    return directVolumeOps({ sandbox, attached: () => this.attached, agent, vm: () => this.vm! });
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
    if (this.agent) await this.agent.call('deleteContainer', { containerId: CONTAINER_ID, force: true }, 30_000).catch(() => undefined);
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
    releaseShares(this.deps.dirs.dir(this.id));
    for (const b of this.state.boundVolumes) await this.deps.records.releaseSandbox(b.volumePath, this.id).catch(() => undefined);
    await this.deps.dirs.remove(this.id);
    // The monitor socket's folder (<shim root>/<id>/) is the sandbox's own.
    await rm(dirname(this.monitorSocket), { recursive: true, force: true });
  }
}
