// Names the host and the guest agree on. The runtime attaches the agent disk and the agent port with
// these; the init script finds them by these.
export { AGENT_PORT_NAME, GUEST_ACCEL_ARG, GUEST_MAC, GUEST_MODULES_ARG, GUEST_NETWORK_ADDRESS, MODULE_GROUPS, MODULES_READY_MARK, NETWORK_READY_MARK, TCG_CPU_MODEL } from '../protocol/index.js';

/** virtio-blk serial of the read-only agent disk (the first disk on the bus). */
export const AGENT_DISK_SERIAL = 'passvol-agent';
/** Where init mounts the agent disk; /usr, /lib64, /lib/x86_64-linux-gnu and /agent point into it. */
export const AGENT_MOUNT = '/passvol';
export const GUEST_NODE = '/usr/bin/node';
/**
 * The module groups init loads in the background (module-list.ts) live on the agent disk, under this path
 * (in the guest: AGENT_MOUNT + it), not in the initramfs: the kernel unpacks the initramfs before /init runs,
 * and under TCG each MB of it is boot time (measured: ~0.26 s less with only the boot modules in it).
 */
export const AGENT_DISK_MODULES = '/modules';
export const GUEST_AGENT = '/agent/agent.mjs';
/**
 * The agent's V8 startup snapshots (see src/agent/snapshot-main.ts), one per acceleration: `<accel>` is
 * `tcg` or `kvm`, as the runtime names it on the kernel command line (GUEST_ACCEL_ARG).
 */
export const GUEST_AGENT_SNAPSHOT = '/agent/agent-<accel>.blob';
export const guestAgentSnapshot = (accel: 'tcg' | 'kvm'): string => GUEST_AGENT_SNAPSHOT.replace('<accel>', accel);
/**
 * `loglevel=1`, not `quiet` (reported to hang microvm); `panic=1` with QEMU's -no-reboot ends the VM. The
 * rest skips work that costs boot time under emulation, as Kata's guest command line does: clocksource
 * watchdog and timer checks, crypto self-tests, i8042 probing.
 */
export const DEFAULT_CMDLINE =
  'console=ttyS0 loglevel=1 panic=1 tsc=reliable no_timer_check cryptomgr.notests i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd';
/** A fixed time for every file in the images (reproducible builds): 2023-11-14T22:13:20Z. */
export const FIXED_MTIME = 1_700_000_000;
