// The guest kernel modules. "boot" modules are loaded before the agent starts (PCI, the agent's disk and
// console, ext4); the others load in the background while the agent starts (insmod of xfs and nfsv4 alone
// takes ~1.2 s under TCG), in the order a sandbox needs them: the shares first (the rootfs mount waits for
// them), then NFS and the network (init marks the network ready for NFS mounts), then the rest (xfs), after
// which init marks every module in (see init-script.ts).

export const BOOT_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_console', 'ext4'] as const;
export const LATE_MODULES = ['fuse', 'virtiofs', '9p', '9pnet_virtio', 'virtio_net', 'nfs', 'nfsv3', 'nfsv4'] as const;
export const REST_MODULES = ['xfs'] as const;

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
