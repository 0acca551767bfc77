// Typed QMP commands: arguments are typed here and every reply QEMU sends back is checked with zod before
// the runtime sees it. device_del resolves only after the guest released the device (DEVICE_DELETED).
import { z } from 'zod';
import { PassvolError } from '../../common/errors.js';
import type { QmpChannel } from '../hypervisor.js';

export interface BlockdevFile {
  driver: 'file' | 'host_device';
  filename: string;
  'node-name': string;
  'read-only': boolean;
  aio: 'native' | 'io_uring' | 'threads';
  cache: { direct: boolean; 'no-flush': false };
  locking?: 'auto' | 'on' | 'off';
}

export interface BlockdevRaw {
  driver: 'raw';
  'node-name': string;
  'read-only': boolean;
  discard: 'unmap' | 'ignore';
  cache: { direct: boolean; 'no-flush': false };
  file: BlockdevFile;
}

export interface VirtioBlkDevice {
  driver: 'virtio-blk-pci';
  id: string;
  drive: string;
  serial: string;
  bus: string;
  iothread?: string;
}

const Empty = z.object({}).passthrough();

export async function blockdevAdd(qmp: QmpChannel, args: BlockdevRaw): Promise<void> {
  Empty.parse(await qmp.execute('blockdev-add', args as unknown as Record<string, unknown>));
}

export async function blockdevDel(qmp: QmpChannel, nodeName: string): Promise<void> {
  Empty.parse(await qmp.execute('blockdev-del', { 'node-name': nodeName }));
}

/** A virtio-fs share hot-plugged into a clone (its chardev added first with chardevAddUnixSocket). */
export interface VhostUserFsDevice {
  driver: 'vhost-user-fs-pci';
  id: string;
  chardev: string;
  tag: string;
  'queue-size': number;
  bus: string;
}

/** The user-mode network a clone gets hot-plugged (a booted VM has it on its command line). */
export interface VirtioNetDevice {
  driver: 'virtio-net-pci';
  id: string;
  netdev: string;
  mac: string;
  bus: string;
}

export async function deviceAdd(qmp: QmpChannel, args: VirtioBlkDevice | VhostUserFsDevice | VirtioNetDevice): Promise<void> {
  Empty.parse(await qmp.execute('device_add', args as unknown as Record<string, unknown>));
}

/** Asks the guest to release the device and waits until QEMU reports it gone. */
export async function deviceDel(qmp: QmpChannel, id: string, timeoutMs: number): Promise<void> {
  const deleted = qmp.waitForEvent('DEVICE_DELETED', (data) => data.device === id, timeoutMs);
  try {
    Empty.parse(await qmp.execute('device_del', { id }));
  } catch (e) {
    deleted.cancel();
    throw e;
  }
  await deleted.promise.catch((e: unknown) => {
    throw new PassvolError('PV_ERR_TIMEOUT', `the guest did not release device ${id} within ${timeoutMs} ms (is its OS up?)`, { cause: e });
  });
}

/** A chardev that connects to a unix socket (as -chardev socket,path=... does). */
export async function chardevAddUnixSocket(qmp: QmpChannel, id: string, path: string): Promise<void> {
  await qmp.execute('chardev-add', { id, backend: { type: 'socket', data: { addr: { type: 'unix', data: { path } }, server: false } } });
}

/** QEMU user networking on subnet `net` (a.b.c.0/24) that reaches nothing but `guestfwd` rules (restrict=on). */
export async function netdevAddRestrictedUser(qmp: QmpChannel, id: string, net: string, guestfwd: readonly string[]): Promise<void> {
  Empty.parse(await qmp.execute('netdev_add', { type: 'user', id, net, restrict: true, guestfwd: guestfwd.map((str) => ({ str })) }));
}

/** A tap netdev QEMU opens (creating it, in QEMU's network namespace) by name; no scripts run. */
export async function netdevAddTap(qmp: QmpChannel, id: string, ifname: string): Promise<void> {
  Empty.parse(await qmp.execute('netdev_add', { type: 'tap', id, ifname, script: 'no', downscript: 'no' }));
}

export async function netdevDel(qmp: QmpChannel, id: string): Promise<void> {
  Empty.parse(await qmp.execute('netdev_del', { id }));
}

export async function chardevRemove(qmp: QmpChannel, id: string): Promise<void> {
  Empty.parse(await qmp.execute('chardev-remove', { id }));
}

export async function blockResize(qmp: QmpChannel, nodeName: string, bytes: number): Promise<void> {
  Empty.parse(await qmp.execute('block_resize', { 'node-name': nodeName, size: bytes }));
}

export async function objectAddIothread(qmp: QmpChannel, id: string): Promise<void> {
  Empty.parse(await qmp.execute('object-add', { 'qom-type': 'iothread', id }));
}

export async function objectDel(qmp: QmpChannel, id: string): Promise<void> {
  Empty.parse(await qmp.execute('object-del', { id }));
}

const Status = z.object({ status: z.string(), running: z.boolean() }).passthrough();
export type VmStatus = z.infer<typeof Status>;

export async function queryStatus(qmp: QmpChannel): Promise<VmStatus> {
  return Status.parse(await qmp.execute('query-status'));
}

const NamedNode = z
  .object({
    'node-name': z.string(),
    drv: z.string(),
    ro: z.boolean(),
    file: z.string(),
    image: z.object({ 'virtual-size': z.number() }).passthrough(),
  })
  .passthrough();
export type BlockNode = z.infer<typeof NamedNode>;

/** Every block node, flat (query-named-block-nodes). */
export async function queryBlockNodes(qmp: QmpChannel): Promise<BlockNode[]> {
  return z.array(NamedNode).parse(await qmp.execute('query-named-block-nodes', { flat: true }));
}

const BlockInfo = z
  .object({
    device: z.string(),
    qdev: z.string().optional(),
    inserted: z.object({ 'node-name': z.string().optional(), ro: z.boolean(), image: z.object({ 'virtual-size': z.number() }).passthrough() }).passthrough().optional(),
  })
  .passthrough();
export type BlockInfo = z.infer<typeof BlockInfo>;

export async function queryBlock(qmp: QmpChannel): Promise<BlockInfo[]> {
  return z.array(BlockInfo).parse(await qmp.execute('query-block'));
}

export interface PciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  id: { device: number; vendor: number };
  class_info: { class: number; desc?: string };
  pci_bridge?: { bus: { number: number; secondary: number; subordinate: number }; devices?: PciDevice[] };
}

const PciDeviceSchema: z.ZodType<PciDevice> = z.lazy(() =>
  z.object({
    bus: z.number(),
    slot: z.number(),
    function: z.number(),
    qdev_id: z.string(),
    id: z.object({ device: z.number(), vendor: z.number() }).passthrough(),
    class_info: z.object({ class: z.number(), desc: z.string().optional() }).passthrough(),
    pci_bridge: z
      .object({ bus: z.object({ number: z.number(), secondary: z.number(), subordinate: z.number() }).passthrough(), devices: z.array(PciDeviceSchema).optional() })
      .passthrough()
      .optional(),
  }),
);
const PciBus = z.object({ bus: z.number(), devices: z.array(PciDeviceSchema) }).passthrough();

/** All PCI devices, flattened, each with the qdev id of the bridge/port it sits behind (if any). */
export async function queryPci(qmp: QmpChannel): Promise<(PciDevice & { parent?: string })[]> {
  const buses = z.array(PciBus).parse(await qmp.execute('query-pci'));
  const out: (PciDevice & { parent?: string })[] = [];
  const walk = (devices: readonly PciDevice[], parent?: string): void => {
    for (const d of devices) {
      out.push({ ...d, parent });
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices, d.qdev_id);
    }
  };
  for (const b of buses) walk(b.devices);
  return out;
}

export async function quit(qmp: QmpChannel, timeoutMs = 3000): Promise<void> {
  await qmp.execute('quit', undefined, { timeoutMs });
}
