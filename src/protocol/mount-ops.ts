// Ops on guest filesystems: mount, unmount, statfs, growFilesystem, freezeFilesystem and thawFilesystem.
import { z } from 'zod';
import { AbsolutePath, Count, PosixId, Usage } from './primitives.js';

/** One mount option as `mount -o` takes it, without commas (the agent joins them). */
export const MountOption = z.string().min(1).max(256);

export const BlockSource = z
  .object({
    kind: z.literal('block'),
    /** The virtio-blk serial given to QEMU (the guest kernel keeps the first 20 bytes). */
    serial: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_.:-]'),
  })
  .strict();

export const NfsSource = z
  .object({
    kind: z.literal('nfs'),
    /** An IP address literal: the guest has no name service. */
    server: z.string().min(1).max(64),
    path: AbsolutePath,
    fstype: z.enum(['nfs', 'nfs4']),
    options: z.array(MountOption).max(64).default([]),
  })
  .strict();

const Tag = z.string().regex(/^[A-Za-z0-9_.-]{1,36}$/, 'must be 1-36 characters of [A-Za-z0-9_.-]');
export const VirtiofsSource = z.object({ kind: z.literal('virtiofs'), tag: Tag }).strict();
export const NinePSource = z.object({ kind: z.literal('9p'), tag: Tag }).strict();

/** Guest memory: the pod's /dev/shm and memory-backed emptyDirs, one per pod, shared by its containers. */
export const TmpfsSource = z.object({ kind: z.literal('tmpfs') }).strict();

export const MountSource = z.discriminatedUnion('kind', [BlockSource, NfsSource, VirtiofsSource, NinePSource, TmpfsSource]);
export type MountSource = z.infer<typeof MountSource>;

export const FsGroupChangePolicy = z.enum(['Always', 'OnRootMismatch']);

export const MountArgs = z
  .object({
    source: MountSource,
    /** Where the guest mounts it: an absolute guest path under /run/passvol/. */
    target: AbsolutePath,
    fstype: z.string().regex(/^[a-z0-9]{1,16}$/, 'must be a filesystem type such as ext4'),
    options: z.array(MountOption).max(64).default([]),
    fsGroup: PosixId.optional(),
    fsGroupChangePolicy: FsGroupChangePolicy.optional(),
    /** Grow the filesystem to the size of its block device right after mounting. */
    growToDevice: z.boolean().optional(),
    /**
     * How long to wait for a hot-plugged device to appear: a disk (default: the agent's setting) or a
     * virtio-fs share (default 0: a booted VM's shares are there from the start).
     */
    deviceWaitMs: z.number().int().min(0).max(300_000).optional(),
  })
  .strict();
export const MountResult = z.object({ device: z.string().optional(), fstype: z.string() });

export const UnmountArgs = z.object({ target: AbsolutePath }).strict();
export const EmptyResult = z.object({});

export const StatfsArgs = z.object({ path: AbsolutePath }).strict();
export const StatfsResult = z.object({ bytes: Usage, inodes: Usage });

export const GrowFilesystemArgs = z
  .object({
    /** The mount point (guest path) of an ext4 or xfs filesystem on a virtio-blk disk. */
    path: AbsolutePath,
    /**
     * The size the host resized the disk to. The agent waits (briefly) until the kernel reports at least
     * this many bytes before growing, since the guest learns of a block_resize asynchronously.
     */
    minDeviceBytes: Count.optional(),
    waitMs: z.number().int().min(0).max(60_000).optional(),
  })
  .strict();
export const GrowFilesystemResult = z.object({ bytes: Usage, deviceBytes: Count.optional() });

/** The longest a filesystem may stay frozen: every writer of the volume waits while it is. */
export const MAX_FREEZE_LEASE_MS = 300_000;

export const FreezeFilesystemArgs = z
  .object({
    /** The mount point (guest path) of a passed-through disk. */
    path: AbsolutePath,
    /** The guest thaws by itself after this long, so a caller that dies cannot leave the writers blocked. */
    leaseMs: z.number().int().min(100).max(MAX_FREEZE_LEASE_MS),
    /** Extend the lease of a freeze this agent holds (from now), instead of freezing. */
    renew: z.boolean().optional(),
  })
  .strict();
export const ThawFilesystemArgs = z.object({ path: AbsolutePath }).strict();
export const ThawFilesystemResult = z.object({
  /** False when the freeze did not last until now (its lease ran out, or this agent never froze it). */
  heldThroughout: z.boolean(),
});
