// VmSpec -> QEMU argv, as a pure function. The machine is q35 booting the kernel directly, with qboot
// as firmware when present (see hypervisor.ts for the measurements behind that). Values that go into
// QEMU's comma-separated options have their commas doubled; block nodes use the JSON syntax instead.
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { invalidArgument } from '../../common/errors.js';
import type { NetForward, VmSpec } from '../hypervisor.js';
import { STATE_PATH } from './vm-state.js';
import { GUEST_MAC } from '../../protocol/index.js';

export const QBOOT_ROM = '/usr/share/qemu/qboot.rom';
export const AGENT_DISK_ID = 'agent-disk';
export const SERIAL_BUS = 'vser0';
export const HOTPLUG_PORT_PREFIX = 'hp';
const FIRST_HOTPLUG_ADDR = 0x10;
/**
 * Templates and clones have CLONE_SLOTS more root ports: a clone's shares and NIC are hot-plugged into
 * them, so it keeps as many slots for disks as a booted VM (and the template must have the same ports).
 */
export const CLONE_SLOTS = 4;
/** Root ports from FIRST_HOTPLUG_ADDR to the last slot of bus 0 (0x1f). */
const MAX_ROOT_PORTS = 0x20 - FIRST_HOTPLUG_ADDR;
export const hotplugSlotsOf = (spec: Pick<VmSpec, 'hotplugSlots' | 'memory'>): number => (spec.hotplugSlots ?? 8) + (spec.memory ? CLONE_SLOTS : 0);

const AbsPath = z.string().refine((p) => isAbsolute(p) && !p.includes('\0'), 'must be an absolute path');
const Tag = z.string().regex(/^[A-Za-z0-9_.-]{1,31}$/, 'tags are 1-31 characters of [A-Za-z0-9_.-]');
const Ipv4 = z.string().regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/).refine((s) => s.split('.').every((n) => Number(n) <= 255), 'not an IPv4 address');
const Port = z.number().int().min(1).max(65535);
const StatePath = z.string().regex(STATE_PATH, 'an absolute path of [A-Za-z0-9._/-]');

/** A forward as QEMU gets it: a free guest address (10.0.N.2/.3/.15 are QEMU's gateway, DNS and the guest). */
export const NetForwardSchema = z
  .object({
    guestAddress: Ipv4.refine((a) => /^10\.0\.\d+\.\d+$/.test(a) && !['2', '3', '15'].includes(a.split('.')[3] as string), 'a free address in one of the guest networks, 10.0.N.0/24'),
    host: Ipv4,
    ports: z.array(z.union([Port, z.object({ guest: Port, host: Port }).strict()])).min(1),
  })
  .strict();

export const VmSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    kernel: AbsPath,
    initrd: AbsPath,
    cmdline: z.string().max(2048).refine((s) => !s.includes('\n'), 'one line'),
    memoryMiB: z.number().int().min(128).max(1024 * 1024),
    cpus: z.number().int().min(1).max(255),
    agentDisk: AbsPath,
    agentDiskSerial: z.string().regex(/^[A-Za-z0-9._-]{1,20}$/).optional(),
    agentPort: z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), socketPath: AbsPath }).strict(),
    shares: z
      .array(z.object({ kind: z.enum(['virtiofs', '9p']), tag: Tag, hostDir: AbsPath, cache: z.enum(['auto', 'always', 'none']).optional() }).strict())
      .optional()
      .refine((s) => !s || new Set(s.map((x) => x.tag)).size === s.length, 'share tags must be unique'),
    nfsForwards: z.array(NetForwardSchema.refine((f) => f.guestAddress.startsWith('10.0.2.'), 'network 0 is 10.0.2.0/24')).optional(),
    stateDir: AbsPath,
    accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
    hotplugSlots: z.number().int().min(0).max(16).optional(),
    memory: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('template'), file: StatePath }).strict(),
        z.object({ kind: z.literal('clone'), file: StatePath, state: StatePath }).strict(),
      ])
      .optional(),
  })
  .strict()
  .refine((s) => s.memory?.kind !== 'template' || (s.nfsForwards ?? []).length === 0, 'a template has no network (its clones get theirs hot-plugged)')
  .refine((s) => !s.memory || (s.shares ?? []).every((x) => x.kind === 'virtiofs'), 'a template or a clone shares over virtio-fs only (9p cannot be hot-plugged)')
  .refine((s) => hotplugSlotsOf(s) <= MAX_ROOT_PORTS, `at most ${MAX_ROOT_PORTS} hot-plug ports (templates and clones take ${CLONE_SLOTS} of them)`)
  .refine((s) => s.memory?.kind !== 'template' || (s.shares ?? []).length === 0, 'a template has no shares (its clones get theirs hot-plugged)')
  .refine(
    (s) => s.memory?.kind !== 'clone' || (s.shares ?? []).length + ((s.nfsForwards ?? []).length > 0 ? 1 : 0) <= CLONE_SLOTS,
    `a clone hot-plugs at most ${CLONE_SLOTS} shares and network together: boot this sandbox instead`,
  );

/** Checks a spec from the runtime before any of it reaches a command line. */
export function parseVmSpec(spec: unknown): VmSpec {
  const r = VmSpecSchema.safeParse(spec);
  if (!r.success) throw invalidArgument(`VM spec: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export interface QemuLaunchPlan {
  spec: VmSpec;
  accelArgs: readonly string[];
  /** Kernel arguments the acceleration calls for, after the image's own. */
  accelKernelArgs?: readonly string[];
  /** Firmware image (qboot); undefined means QEMU's default SeaBIOS. */
  firmware?: string;
  qmpSocket: string;
  consoleLog: string;
  pidFile: string;
  /** virtiofsd socket for each virtio-fs share tag. */
  virtiofsSockets: ReadonlyMap<string, string>;
  /** A clone's own copy of its template's RAM (see qemu-vm.ts). */
  cloneRam?: string;
}

/** QEMU ids of guest network N's netdev and NIC (protocol/guest-contract.ts numbers the networks). */
export const netdevId = (index: number): string => `n${index}`;
export const nicId = (index: number): string => `net${index}`;

/** The relay QEMU runs for each guest connection to a forward (see guestForwards and the script's own notes). */
export const FORWARD_RELAY = { interpreter: '/usr/bin/perl', script: fileURLToPath(new URL('../../../src/runtime/qemu/nfs-relay.pl', import.meta.url)) };
/** Under the VM's state folder: the relays' slot files, which cap how many run at once. */
export const RELAY_SLOTS_DIR = 'relay-slots';
/** Relays (guest connections to NFS servers) one VM may have at once; NFS needs a few per server. */
export const RELAY_SLOTS = 32;

/**
 * QEMU's guestfwd rules for the NFS forwards: `tcp:GUEST:PORT-cmd:perl nfs-relay.pl HOST PORT SLOTS_DIR SLOTS`.
 * A relay per guest connection, not a chardev: a chardev forward is one host connection for the VM's life,
 * made when the VM starts (so the VM cannot start while the server is down), never made again once the
 * server drops it (a server restart or fail-over left the guest's mount hung for good), and shared by
 * every guest connection to it at once (an NFSv3 and an NFSv4 mount of one server hung). With a relay the
 * guest's connection ends when the server's does, and its NFS client connects again, as over a network.
 */
export function guestForwards(forwards: readonly NetForward[], stateDir: string): string[] {
  const slots = `${stateDir}/${RELAY_SLOTS_DIR}`;
  // QEMU splits the command into words as a shell would (g_shell_parse_argv), though no shell runs it:
  // paths must need no quoting.
  for (const path of [FORWARD_RELAY.script, slots]) {
    if (!/^[A-Za-z0-9._/-]+$/.test(path)) throw invalidArgument(`${path} has characters QEMU would split the NFS relay's command at`);
  }
  return forwards.flatMap((f) => {
    const parsed = NetForwardSchema.safeParse(f);
    if (!parsed.success) throw invalidArgument(`NFS forward ${JSON.stringify(f)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const forward = parsed.data;
    return forward.ports.map((p) => {
      const [guest, host] = typeof p === 'number' ? [p, p] : [p.guest, p.host];
      return `tcp:${forward.guestAddress}:${guest}-cmd:${FORWARD_RELAY.interpreter} ${FORWARD_RELAY.script} ${forward.host} ${host} ${slots} ${RELAY_SLOTS}`;
    });
  });
}

/** Doubles commas: QEMU's escape inside a comma-separated option value. */
export const optValue = (s: string): string => s.replaceAll(',', ',,');

export const hotplugPortIds = (slots: number): string[] => Array.from({ length: slots }, (_, i) => `${HOTPLUG_PORT_PREFIX}${i}`);

/** The RAM object: a file for templates and clones, a shared memfd for vhost-user (virtio-fs), else none. */
function memoryBackend(plan: QemuLaunchPlan): string | undefined {
  const { spec } = plan;
  const size = `size=${spec.memoryMiB}M`;
  // share=on both ways: the template's RAM must land in its file, and virtiofsd must see a clone's writes
  // (so a clone maps a copy of its own, not the template's file copy-on-write).
  if (spec.memory?.kind === 'template') return `memory-backend-file,id=mem,${size},mem-path=${optValue(spec.memory.file)},share=on`;
  if (spec.memory?.kind === 'clone') {
    if (!plan.cloneRam) throw invalidArgument('a clone needs its copy of the template RAM');
    return `memory-backend-file,id=mem,${size},mem-path=${optValue(plan.cloneRam)},share=on`;
  }
  if ((spec.shares ?? []).some((s) => s.kind === 'virtiofs')) return `memory-backend-memfd,id=mem,${size},share=on`;
  return undefined;
}

export function buildQemuArgs(plan: QemuLaunchPlan): string[] {
  const { spec } = plan;
  // A clone's shares are hot-plugged once it runs (qemu-vm.ts): its devices must be the template's.
  const shares = spec.memory ? [] : (spec.shares ?? []);
  const ram = memoryBackend(plan);
  const machine = ['q35', 'sata=off', 'smbus=off', 'usb=off', 'vmport=off', 'graphics=off', ...(ram ? ['memory-backend=mem'] : [])];
  const args: string[] = [
    '-name', `${optValue(spec.name)},debug-threads=on`,
    '-machine', machine.join(','),
    ...plan.accelArgs,
    '-m', `${spec.memoryMiB}M`,
    ...(ram ? ['-object', ram] : []),
    '-smp', String(spec.cpus),
    ...(plan.firmware ? ['-bios', plan.firmware] : []),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-msg', 'timestamp=on',
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', [spec.cmdline, ...(plan.accelKernelArgs ?? [])].join(' '),
    '-chardev', `file,id=console,path=${optValue(plan.consoleLog)}`,
    '-serial', 'chardev:console',
    '-chardev', `socket,id=qmp,path=${optValue(plan.qmpSocket)},server=on,wait=off`,
    '-mon', 'chardev=qmp,mode=control',
    '-pidfile', plan.pidFile,
    // The agent disk first on the bus, read-only, so /dev/vda is always it.
    '-blockdev', JSON.stringify({ driver: 'file', filename: spec.agentDisk, 'node-name': 'agent-file', 'read-only': true }),
    '-blockdev', JSON.stringify({ driver: 'raw', file: 'agent-file', 'node-name': AGENT_DISK_ID, 'read-only': true }),
    '-device', `virtio-blk-pci,id=${AGENT_DISK_ID},drive=${AGENT_DISK_ID},serial=${spec.agentDiskSerial ?? 'passvol-agent'},bus=pcie.0,addr=0x2`,
    '-device', `virtio-serial-pci,id=${SERIAL_BUS},bus=pcie.0,addr=0x3`,
    '-chardev', `socket,id=agent,path=${optValue(spec.agentPort.socketPath)},server=on,wait=off`,
    '-device', `virtserialport,id=agent-port,bus=${SERIAL_BUS}.0,chardev=agent,name=${spec.agentPort.name}`,
  ];
  shares.forEach((share, i) => {
    if (share.kind === '9p') {
      args.push('-fsdev', `local,id=fs${i},path=${optValue(share.hostDir)},security_model=none`);
      args.push('-device', `virtio-9p-pci,id=share${i},fsdev=fs${i},mount_tag=${share.tag},bus=pcie.0`);
    } else {
      const socket = plan.virtiofsSockets.get(share.tag);
      if (!socket) throw invalidArgument(`no virtiofsd socket for share ${share.tag}`);
      args.push('-chardev', `socket,id=vfs${i},path=${optValue(socket)}`);
      args.push('-device', `vhost-user-fs-pci,id=share${i},chardev=vfs${i},tag=${share.tag},queue-size=1024,bus=pcie.0`);
    }
  });
  // A clone's network is hot-plugged once it runs (qemu-vm.ts), as its shares are.
  const forwards = spec.memory ? [] : guestForwards(spec.nfsForwards ?? [], spec.stateDir);
  if (forwards.length > 0) {
    // restrict=on: the guest reaches nothing but these forwards. Commas inside -netdev are doubled.
    args.push('-netdev', ['user', `id=${netdevId(0)}`, 'restrict=on', ...forwards.map((f) => `guestfwd=${optValue(f)}`)].join(','));
    args.push('-device', `virtio-net-pci,id=${nicId(0)},netdev=${netdevId(0)},bus=pcie.0,mac=${GUEST_MAC}`);
  }
  if (spec.memory) {
    // A new generation id at every start: a clone's kernel sees it change and reseeds its random number
    // generator, so clones of one template do not share random state.
    args.push('-device', 'vmgenid,id=vmgenid0,guid=auto');
  }
  if (spec.memory?.kind === 'clone') args.push('-incoming', 'defer');
  hotplugPortIds(hotplugSlotsOf(spec)).forEach((id, i) => {
    // io-reserve=0: virtio-pci devices need no I/O ports, and q35 has too few to give each port 4 KiB.
    args.push('-device', `pcie-root-port,id=${id},bus=pcie.0,chassis=1,slot=${i + 1},addr=0x${(FIRST_HOTPLUG_ADDR + i).toString(16)},io-reserve=0`);
  });
  return args;
}
