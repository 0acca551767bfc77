// The Hypervisor port on QEMU: start virtiofsd for each virtio-fs share, start QEMU from the argv that
// cmdline.ts builds, connect QMP, and drive disk hot-plug over it. stop() ends QEMU and its helpers (our
// own children, by handle) and removes every socket and pid file they leave.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { access, chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, isPassvolError, notFound, PassvolError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { TemplateRestoreError, type BlockBackendSettings, type NetForward, type HotplugBlockRequest, type HotpluggedBlock, type Hypervisor, type RunningVm, type VmExit, type VmSpec } from '../hypervisor.js';
import { detectAccel, type AccelDecision } from './accel.js';
import { backendAttempts, blockdevArgs, isBackendSettingError, nodeNames } from './block-backend.js';
import { cloneRamPath, copyTemplateRam } from './clone-ram.js';
import { buildQemuArgs, FORWARD_RELAY, RELAY_SLOTS_DIR, guestForwards, hotplugPortIds, hotplugSlotsOf, netdevId, nicId, parseVmSpec, QBOOT_ROM } from './cmdline.js';
import { guestNetwork, type GuestNetwork } from '../../protocol/index.js';
import { hasExited, signalAndWait } from './process-exit.js';
import { QmpClient, QmpError } from './qmp-client.js';
import { blockdevAdd, blockdevDel, blockResize, chardevAddUnixSocket, chardevRemove, deviceAdd, deviceDel, netdevAddRestrictedUser, netdevAddTap, netdevDel, objectAddIothread, objectDel, quit } from './qmp-commands.js';
import { restoreState, saveState } from './vm-state.js';
import { Virtiofsd } from './virtiofsd.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
const HOTPLUG_ID = /^[A-Za-z][A-Za-z0-9_-]{0,23}$/;
const SERIAL = /^[A-Za-z0-9._-]{1,20}$/;
const TAP_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** Long enough for pciehp's 5 s attention-button delay, should a guest use native hot-plug. */
const UNPLUG_TIMEOUT_MS = 15_000;
const MAX_SOCKET_PATH = 107;

export interface QemuHypervisorOptions {
  log: Logger;
  binary?: string;
  /** Firmware for q35; default qboot when installed, else QEMU's SeaBIOS. */
  firmware?: string | null;
  qmpTimeoutMs?: number;
}

export class QemuHypervisor implements Hypervisor {
  constructor(private readonly o: QemuHypervisorOptions) {}

  async start(input: VmSpec): Promise<RunningVm> {
    const spec = parseVmSpec(input);
    if ((spec.nfsForwards ?? []).length > 0) await requireForwardRelay();
    const log = this.o.log.child({ part: 'qemu', vm: spec.name });
    await mkdir(spec.stateDir, { recursive: true, mode: 0o700 });
    await chmod(spec.stateDir, 0o700);
    await mkdir(join(spec.stateDir, RELAY_SLOTS_DIR), { recursive: true, mode: 0o700 });
    const paths = {
      qmpSocket: join(spec.stateDir, 'qmp.sock'),
      consoleLog: join(spec.stateDir, 'console.log'),
      pidFile: join(spec.stateDir, 'qemu.pid'),
      qemuLog: join(spec.stateDir, 'qemu.log'),
    };
    const virtiofsSockets = new Map((spec.shares ?? []).filter((s) => s.kind === 'virtiofs').map((s) => [s.tag, join(spec.stateDir, `virtiofs-${s.tag}.sock`)]));
    for (const p of [paths.qmpSocket, spec.agentPort.socketPath, ...virtiofsSockets.values()]) {
      if (Buffer.byteLength(p) > MAX_SOCKET_PATH) throw failedPrecondition(`socket path too long for a unix socket (${p}): use a shorter state dir`);
      await rm(p, { force: true });
    }
    const accel = await detectAccel(spec.accel ?? 'auto', log);
    // Templates and clones run SeaBIOS: qboot cannot set up the VM generation id device (the guest hangs
    // before its kernel starts), and a clone never runs its firmware anyway.
    const firmware = spec.memory || this.o.firmware === null ? undefined : (this.o.firmware ?? (existsSync(QBOOT_ROM) ? QBOOT_ROM : undefined));

    const helpers: Virtiofsd[] = [];
    let child: ChildProcess | undefined;
    const cloneRam = spec.memory?.kind === 'clone' ? cloneRamPath(spec.memory.file, spec.name) : undefined;
    try {
      for (const share of spec.shares ?? []) {
        if (share.kind !== 'virtiofs') continue;
        const socketPath = virtiofsSockets.get(share.tag) as string;
        helpers.push(await Virtiofsd.start({ socketPath, sourceDir: share.hostDir, cache: share.cache ?? 'auto', logFile: join(spec.stateDir, `virtiofsd-${share.tag}.log`) }));
      }
      if (cloneRam && spec.memory) await copyTemplateRam(spec.memory.file, cloneRam, spec.memoryMiB);
      const args = buildQemuArgs({ spec, accelArgs: accel.args, accelKernelArgs: accel.kernelArgs, firmware, virtiofsSockets, cloneRam, ...paths });
      log.debug({ args }, 'starting qemu');
      const out = openSync(paths.qemuLog, 'a');
      try {
        child = spawn(this.o.binary ?? QEMU_BINARY, args, { stdio: ['ignore', out, out] });
      } finally {
        closeSync(out);
      }
      const started = child;
      const spawnError = new Promise<never>((_, reject) => started.once('error', (e) => reject(new PassvolError('PV_ERR_EXTERNAL_COMMAND', `cannot run ${QEMU_BINARY}: ${e.message} (install qemu-system-x86)`, { cause: e }))));
      const qmp = await Promise.race([QmpClient.connect(paths.qmpSocket, { log, timeoutMs: this.o.qmpTimeoutMs ?? 10_000, alive: () => !hasExited(started) }), spawnError]);
      const clone = spec.memory?.kind === 'clone' ? spec.memory : undefined;
      // QEMU has mapped its RAM file once QMP answers: unlinked now, the RAM goes when QEMU does.
      if (cloneRam) await rm(cloneRam, { force: true });
      if (clone) {
        await restoreState(qmp, clone.state).catch((e: unknown) => {
          throw new TemplateRestoreError(`cannot restore the VM template ${clone.state}: ${(e as Error).message}`, { cause: e });
        });
      }
      const vm = new QemuVm(spec, started, qmp, accel, helpers, paths, log);
      // A clone has the template's devices: its shares and network come now, into free hot-plug ports.
      if (clone) {
        for (const share of spec.shares ?? []) await vm.hotplugShare(share.tag, virtiofsSockets.get(share.tag) as string);
        if ((spec.nfsForwards ?? []).length > 0) await vm.addNetwork(guestNetwork(0), spec.nfsForwards ?? []);
      }
      log.info({ pid: started.pid, accel: accel.accel, firmware: firmware ?? 'seabios', ...(clone ? { template: clone.state } : {}) }, clone ? 'vm restored from its template' : 'vm started');
      return vm;
    } catch (e) {
      const tail = (await readFile(paths.qemuLog, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' / ');
      if (child && !hasExited(child)) child.kill('SIGKILL');
      await Promise.all(helpers.map((h) => h.stop(0)));
      await removeFiles([paths.qmpSocket, spec.agentPort.socketPath, paths.pidFile, ...(cloneRam ? [cloneRam] : [])]);
      // QEMU's last words join the message; the error keeps its class (a TemplateRestoreError stays one).
      if (isPassvolError(e) && tail) e.message = `${e.message}; qemu said: ${tail}`;
      throw e;
    }
  }
}

interface Plugged {
  bus: string;
  nodeName: string;
  iothread?: string;
}

class QemuVm implements RunningVm {
  readonly agentSocket: string;
  private readonly exit: Promise<VmExit>;
  private readonly plugged = new Map<string, Plugged>();
  private readonly freePorts: string[];
  /** The hot-plug port of each share plugged while running, by tag. */
  private readonly shareBuses = new Map<string, string>();
  /** Guest networks hot-plugged so far (network 0 of a booted VM is on its command line). */
  private readonly networks = new Set<number>();
  private readonly podNics = new Set<number>();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly spec: VmSpec,
    private readonly child: ChildProcess,
    readonly qmp: QmpClient,
    private readonly accelDecision: AccelDecision,
    private readonly helpers: Virtiofsd[],
    private readonly paths: { qmpSocket: string; pidFile: string },
    private readonly log: Logger,
  ) {
    this.agentSocket = spec.agentPort.socketPath;
    this.freePorts = hotplugPortIds(hotplugSlotsOf(spec));
    if (!spec.memory && (spec.nfsForwards ?? []).length > 0) this.networks.add(0);
    const exited = new Promise<VmExit>((resolve) => {
      if (hasExited(child)) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    // Whatever ends QEMU, its helpers and sockets go too.
    this.exit = exited.then(async (status) => {
      this.log.info(status, 'qemu exited');
      this.qmp.close();
      await this.cleanup();
      return status;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get accel(): 'kvm' | 'tcg' {
    return this.accelDecision.accel;
  }

  get fromTemplate(): boolean {
    return this.spec.memory?.kind === 'clone';
  }

  async saveTemplate(stateFile: string): Promise<void> {
    if (this.spec.memory?.kind !== 'template') throw failedPrecondition('only a VM started as a template can be saved as one');
    await saveState(this.qmp, stateFile);
    await this.stop();
  }

  /** Adds a virtio-fs share to a running VM (a clone's; a booted VM has its shares on its command line). */
  async hotplugShare(tag: string, socketPath: string): Promise<void> {
    const bus = this.freePorts.shift();
    if (!bus) throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `no hot-plug slot left for share ${tag}`);
    const id = `share-${tag}`;
    let chardev = false;
    try {
      await chardevAddUnixSocket(this.qmp, `${id}-chr`, socketPath);
      chardev = true;
      await deviceAdd(this.qmp, { driver: 'vhost-user-fs-pci', id, chardev: `${id}-chr`, tag, 'queue-size': 1024, bus });
    } catch (e) {
      if (chardev) await chardevRemove(this.qmp, `${id}-chr`).catch(() => undefined);
      this.freePorts.unshift(bus);
      throw e;
    }
    this.shareBuses.set(tag, bus);
    this.log.info({ tag, bus }, 'share hot-plugged');
  }

  /** Shares a host folder with the running guest (another container's rootfs): its own virtiofsd, then the device. */
  async addShare(tag: string, hostDir: string, options: { announceSubmounts?: boolean } = {}): Promise<void> {
    if (this.shareBuses.has(tag)) throw new PassvolError('PV_ERR_ALREADY_EXISTS', `the VM already has a share tagged ${tag}`);
    const socketPath = join(this.spec.stateDir, `virtiofs-${tag}.sock`);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) throw failedPrecondition(`socket path too long for a unix socket (${socketPath}): use a shorter state dir`);
    const helper = await Virtiofsd.start({ socketPath, sourceDir: hostDir, cache: 'auto', ...options, logFile: join(this.spec.stateDir, `virtiofsd-${tag}.log`) });
    try {
      await this.hotplugShare(tag, socketPath);
    } catch (e) {
      await helper.stop(0);
      throw e;
    }
    this.helpers.push(helper);
  }

  /**
   * Hot-plugs guest network `network` (its own restricted user netdev and a virtio-net NIC) reaching only
   * `forwards`: a clone's network 0, or a later one for servers an added container's volumes are on.
   */
  async addNetwork(network: GuestNetwork, forwards: readonly NetForward[]): Promise<void> {
    const expected = guestNetwork(network.index);
    if (expected.prefix !== network.prefix || expected.mac !== network.mac) throw failedPrecondition(`guest network ${network.index} must be ${expected.prefix}.0/24 with MAC ${expected.mac}`);
    if (this.networks.has(network.index)) throw new PassvolError('PV_ERR_ALREADY_EXISTS', `guest network ${network.index} is already plugged`);
    if (forwards.length === 0) throw failedPrecondition('a guest network needs at least one forward: it reaches nothing else');
    await requireForwardRelay();
    // guestForwards checks each forward as the boot path does (a free address, IPv4, ports); here, that it is on this network.
    const rules = guestForwards(forwards, this.spec.stateDir);
    const stray = forwards.find((f) => !f.guestAddress.startsWith(`${network.prefix}.`));
    if (stray) throw failedPrecondition(`forward address ${stray.guestAddress} is not on guest network ${network.index} (${network.prefix}.0/24)`);
    const bus = this.freePorts.shift();
    if (!bus) throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `no hot-plug slot left for guest network ${network.index}`);
    const netdev = netdevId(network.index);
    let added = false;
    try {
      await netdevAddRestrictedUser(this.qmp, netdev, `${network.prefix}.0/24`, rules);
      added = true;
      await deviceAdd(this.qmp, { driver: 'virtio-net-pci', id: nicId(network.index), netdev, mac: network.mac, bus });
    } catch (e) {
      if (added) await netdevDel(this.qmp, netdev).catch(() => undefined);
      this.freePorts.unshift(bus);
      throw e;
    }
    this.networks.add(network.index);
    this.log.info({ bus, network: network.index, forwards: forwards.length }, 'network hot-plugged');
  }

  /**
   * Hot-plugs a NIC for a pod interface: a tap named `tap` (QEMU creates it in the host's namespace; the
   * caller then moves it into the pod's) and a virtio-net NIC with the pod interface's MAC.
   */
  async addPodNic(index: number, tap: string, mac: string): Promise<void> {
    if (!TAP_NAME.test(tap)) throw failedPrecondition(`tap name "${tap}" must be 1-15 characters of [A-Za-z0-9_.-]`);
    if (this.podNics.has(index)) throw new PassvolError('PV_ERR_ALREADY_EXISTS', `pod NIC ${index} is already plugged`);
    const bus = this.freePorts.shift();
    if (!bus) throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `no hot-plug slot left for pod interface ${index}`);
    const netdev = `pod${index}`;
    let added = false;
    try {
      await netdevAddTap(this.qmp, netdev, tap);
      added = true;
      await deviceAdd(this.qmp, { driver: 'virtio-net-pci', id: `podnic${index}`, netdev, mac, bus });
    } catch (e) {
      if (added) await netdevDel(this.qmp, netdev).catch(() => undefined);
      this.freePorts.unshift(bus);
      throw e;
    }
    this.podNics.add(index);
    this.log.info({ bus, tap, mac }, 'pod NIC hot-plugged');
  }

  async hotplugBlock(request: HotplugBlockRequest): Promise<HotpluggedBlock> {
    if (!HOTPLUG_ID.test(request.id)) throw failedPrecondition(`hot-plug id "${request.id}" must match ${HOTPLUG_ID}`);
    if (!SERIAL.test(request.serial)) throw failedPrecondition(`disk serial "${request.serial}" must be 1-20 characters of [A-Za-z0-9._-]`);
    if (this.plugged.has(request.id)) throw new PassvolError('PV_ERR_ALREADY_EXISTS', `a disk with id ${request.id} is already plugged`);
    const bus = this.freePorts.shift();
    if (!bus) throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `all ${this.spec.hotplugSlots ?? 8} hot-plug slots are in use`);
    const isBlockDevice = (await stat(request.path).catch((e: unknown) => {
      this.freePorts.unshift(bus);
      throw notFound(`${request.path}: ${(e as Error).message}`);
    })).isBlockDevice();
    const iothread = request.backend?.iothread ? `${request.id}-io` : undefined;
    const { format } = nodeNames(request.id);
    try {
      if (iothread) await objectAddIothread(this.qmp, iothread);
      const backend = await this.addBackend(request, isBlockDevice);
      try {
        await deviceAdd(this.qmp, { driver: 'virtio-blk-pci', id: request.id, drive: format, serial: request.serial, bus, ...(iothread ? { iothread } : {}) });
      } catch (e) {
        await blockdevDel(this.qmp, format).catch(() => undefined);
        throw e;
      }
      this.plugged.set(request.id, { bus, nodeName: format, iothread });
      this.log.info({ id: request.id, bus, backend }, 'disk hot-plugged');
      return { id: request.id, bus, backend };
    } catch (e) {
      if (iothread) await objectDel(this.qmp, iothread).catch(() => undefined);
      this.freePorts.unshift(bus);
      throw e;
    }
  }

  private async addBackend(request: HotplugBlockRequest, isBlockDevice: boolean): Promise<BlockBackendSettings> {
    const attempts = backendAttempts(request.backend);
    for (const [i, settings] of attempts.entries()) {
      try {
        await blockdevAdd(this.qmp, blockdevArgs({ id: request.id, path: request.path, isBlockDevice, readonly: request.readonly, settings }));
        return { ...settings, iothread: request.backend?.iothread ?? false };
      } catch (e) {
        const last = i === attempts.length - 1;
        if (last || !(e instanceof QmpError) || !isBackendSettingError(e.desc)) throw e;
        this.log.warn({ id: request.id, settings, err: e.desc }, 'block backend setting refused; trying the next one');
      }
    }
    throw new PassvolError('PV_ERR_INTERNAL', 'no block backend attempt left');
  }

  async unplugBlock(id: string): Promise<void> {
    const entry = this.plugged.get(id);
    if (!entry) throw notFound(`no hot-plugged disk with id ${id}`);
    await deviceDel(this.qmp, id, UNPLUG_TIMEOUT_MS);
    await blockdevDel(this.qmp, entry.nodeName);
    if (entry.iothread) await objectDel(this.qmp, entry.iothread);
    this.plugged.delete(id);
    this.freePorts.push(entry.bus);
    this.log.info({ id }, 'disk unplugged');
  }

  async resizeBlock(id: string, bytes: number): Promise<void> {
    const entry = this.plugged.get(id);
    if (!entry) throw notFound(`no hot-plugged disk with id ${id}`);
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 512 !== 0) throw failedPrecondition(`new size ${bytes} must be a positive multiple of 512`);
    try {
      await blockResize(this.qmp, entry.nodeName, bytes);
    } catch (e) {
      if (e instanceof QmpError && /Cannot grow device/i.test(e.desc)) {
        throw failedPrecondition(`disk ${id} is a block device that is still smaller than ${bytes} bytes: grow it on the host first`);
      }
      throw e;
    }
  }

  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      if (!hasExited(this.child)) {
        await quit(this.qmp).catch((e: unknown) => this.log.debug({ err: (e as Error).message }, 'qmp quit failed; signalling'));
        await signalAndWait(this.child, this.exit, options.timeoutMs ?? 5000);
      }
      await this.exit;
    })();
    return this.stopping;
  }

  wait(): Promise<VmExit> {
    return this.exit;
  }

  private async cleanup(): Promise<void> {
    await Promise.all(this.helpers.map((h) => h.stop()));
    await removeFiles([this.paths.qmpSocket, this.agentSocket, this.paths.pidFile]);
  }
}

/** QEMU would start without it and fail each guest connection: say so before. */
async function requireForwardRelay(): Promise<void> {
  await access(FORWARD_RELAY.interpreter, constants.X_OK).catch(() => {
    throw failedPrecondition(`the NFS forward relay needs ${FORWARD_RELAY.interpreter} (Debian's perl-base)`);
  });
  await access(FORWARD_RELAY.script, constants.R_OK).catch(() => {
    throw failedPrecondition(`the NFS forward relay ${FORWARD_RELAY.script} is missing from this passvol`);
  });
}

async function removeFiles(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}
