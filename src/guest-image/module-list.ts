// The guest kernel modules. "boot" modules are loaded before the agent starts (PCI, the agent's disk and
// console, ext4); the others load in the background while the agent starts, a group at a time (under TCG
// the NFS group alone takes ~2.5 s, sunrpc ~1.2 s of it), in the order this sandbox needs them: the groups
// the runtime names on the kernel command line first (its share kind, then NFS when it has NAS volumes),
// then the others, after which init marks every module in (see init-script.ts). Each group's order file
// holds its whole dependency chain; init skips what an earlier group already loaded.
import type { ModuleGroup } from '../protocol/index.js';

export const BOOT_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_console', 'ext4'] as const;
export const MODULE_GROUP_MODULES: Readonly<Record<ModuleGroup, readonly string[]>> = {
  virtiofs: ['fuse', 'virtiofs'],
  // The transport first: 9p registers its filesystem type before a mount could find a transport.
  '9p': ['9pnet_virtio', '9p'],
  nfs: ['virtio_net', 'nfs', 'nfsv3', 'nfsv4'],
  xfs: ['xfs'],
};
/** The order of the groups a sandbox did not name. */
export const DEFAULT_GROUP_ORDER: readonly ModuleGroup[] = ['virtiofs', 'nfs', 'xfs', '9p'];

/**
 * The module files `modprobe --show-depends` names, in load order. Lines are `insmod PATH [params]` or
 * `builtin NAME`; built-in modules need no file.
 */
export function parseShowDepends(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words[0] === 'insmod' && words[1])
    .map((words) => words[1] as string);
}

/** Concatenates load orders, keeping the first place of each file. */
export function mergeLoadOrders(orders: readonly (readonly string[])[], exclude: ReadonlySet<string> = new Set()): string[] {
  const seen = new Set(exclude);
  const out: string[] = [];
  for (const order of orders) {
    for (const file of order) {
      if (seen.has(file)) continue;
      seen.add(file);
      out.push(file);
    }
  }
  return out;
}
