// The embedded "cloud": disks are sparse files in a pool folder, attached to this node as loop devices.
// Everything it knows is on disk (one JSON file per disk and per snapshot, written atomically), so a
// restart after kill -9 finds the same pool. Ids derive from names, which makes create idempotent.
import { copyFile, constants as fsConstants, mkdir, open, readdir, rename, rm, stat, statfs, truncate } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { FilesystemFreezer } from './filesystem-freeze.js';
import type { SandboxFreezer } from './sandbox-freeze.js';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PassvolError, failedPrecondition, notFound } from '../../../common/errors.js';
import { readJsonIfExists, removeDurably, writeJsonDurably } from '../../../common/durable-json.js';
import { fsyncDir } from '../../../common/durable-fs.js';
import type { Exec } from '../../../common/exec.js';
import type { Disk, DiskProvider, DiskSnapshot, DiskSource } from './disk-provider.js';
import { LoopDevices } from './loop-device.js';
import { VOLUME_CONTEXT } from '../backend.js';
import { mountsOfDevice } from '../../../common/mount-table.js';

const DiskSchema = z.object({
  id: z.string(),
  name: z.string(),
  capacityBytes: z.number().int().positive(),
  createdAt: z.string(),
  parameters: z.record(z.string()),
  source: z.object({ snapshotId: z.string().optional(), volumeId: z.string().optional() }).optional(),
  attachment: z.object({ nodeId: z.string(), devicePath: z.string(), readonly: z.boolean() }).optional(),
});
const SnapshotSchema = z.object({
  id: z.string(),
  name: z.string(),
  sourceVolumeId: z.string(),
  sizeBytes: z.number().int().positive(),
  createdAt: z.string(),
});

const MiB = 2 ** 20;
/** Volume context keys that make one disk differ from another (the passthrough reason only explains). */
const SHAPING_PARAMETERS = [VOLUME_CONTEXT.passthrough, VOLUME_CONTEXT.mkfsOptions, VOLUME_CONTEXT.fstype] as const;
/** A temp file or metadata-less image untouched this long belongs to a writer that is gone. */
const ABANDONED_MS = 10 * 60_000;
const ID_PATTERN = /^pv[ds]-[0-9a-f]{24}$/;

export const diskIdFor = (name: string) => `pvd-${createHash('sha256').update(name).digest('hex').slice(0, 24)}`;
export const snapshotIdFor = (name: string) => `pvs-${createHash('sha256').update(name).digest('hex').slice(0, 24)}`;

export interface LoopPoolOptions {
  dir: string;
  /** The only node this pool can attach to: the machine it runs on. */
  nodeId: string;
  exec: Exec;
  /** Freezes the guests of sandboxes that hold a disk passed through, for its snapshot or clone. */
  sandboxFreezer?: Pick<SandboxFreezer, 'whileFrozen'>;
  /** Told what start-up put right (filesystems a dead snapshot left frozen). */
  onRecovered?: (what: string, details: Record<string, unknown>) => void;
}

export class LoopPoolProvider implements DiskProvider {
  readonly minDiskBytes = 16 * MiB;
  readonly maxDiskBytes = 16 * 2 ** 40;
  private readonly loops: LoopDevices;
  /** Serialises writers of one disk or snapshot id inside this process. */
  private readonly busy = new Map<string, Promise<unknown>>();

  private readonly freezer: FilesystemFreezer;

  constructor(private readonly options: LoopPoolOptions) {
    this.loops = new LoopDevices(options.exec);
    this.freezer = new FilesystemFreezer(options.exec, join(options.dir, 'frozen'));
  }

  private get disksDir() {
    return join(this.options.dir, 'disks');
  }
  private get snapshotsDir() {
    return join(this.options.dir, 'snapshots');
  }
  imagePath(id: string): string {
    return join(id.startsWith('pvs-') ? this.snapshotsDir : this.disksDir, `${id}.img`);
  }
  private metaPath(id: string): string {
    return join(id.startsWith('pvs-') ? this.snapshotsDir : this.disksDir, `${id}.json`);
  }

  async init(): Promise<void> {
    await mkdir(this.disksDir, { recursive: true, mode: 0o700 });
    await mkdir(this.snapshotsDir, { recursive: true, mode: 0o700 });
    // First: a filesystem left frozen blocks every writer of its volume.
    await this.thawLeftovers();
    await this.sweepOrphans();
  }

  /** Thaws what dead snapshots left frozen; a note another process may still own is looked at again later. */
  private async thawLeftovers(): Promise<void> {
    const { thawed, pending } = await this.freezer.thawLeftovers();
    if (thawed.length > 0) this.options.onRecovered?.('thawed filesystems a dead snapshot left frozen', { mountPoints: thawed });
    if (pending) setTimeout(() => void this.thawLeftovers().catch(() => undefined), 10_000).unref();
  }

  /**
   * Leftovers of writers that died: temp copies (`<id>.img.tmp-...`, `.<id>.json.tmp-...`) and images
   * without metadata (a create that never finished, a delete that crashed midway). The pool is shared by the
   * controller and the node plugin, each in its own PID namespace, so a writer's pid says nothing here: a
   * leftover is what nobody has written to for a while (a copy in flight keeps touching its file).
   */
  private async sweepOrphans(now = Date.now()): Promise<void> {
    const stale = async (path: string) => {
      const st = await stat(path).catch(() => undefined);
      return st !== undefined && now - st.mtimeMs > ABANDONED_MS;
    };
    for (const dir of [this.disksDir, this.snapshotsDir]) {
      const names = await readdir(dir);
      for (const name of names) {
        const path = join(dir, name);
        const temp = name.includes('.tmp-');
        const orphanImage = name.endsWith('.img') && !names.includes(name.replace(/\.img$/, '.json'));
        if (!(temp || orphanImage) || !(await stale(path))) continue;
        if (orphanImage) await this.loops.detachAll(path);
        await rm(path, { force: true });
      }
    }
  }

  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.busy.set(id, next.catch(() => undefined));
    return next;
  }

  private checkId(id: string): void {
    if (!ID_PATTERN.test(id)) throw notFound(`"${id}" is not a volume or snapshot id of this pool`);
  }

  async get(id: string): Promise<Disk | undefined> {
    if (!ID_PATTERN.test(id) || !id.startsWith('pvd-')) return undefined;
    const raw = await readJsonIfExists(this.metaPath(id));
    return raw === undefined ? undefined : DiskSchema.parse(raw);
  }

  async list(): Promise<Disk[]> {
    const names = (await readdir(this.disksDir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    const out: Disk[] = [];
    for (const n of names) {
      const d = await this.get(n.replace(/\.json$/, ''));
      if (d) out.push(d);
    }
    return out;
  }

  create(request: { name: string; capacityBytes: number; parameters: Record<string, string>; source?: DiskSource }): Promise<Disk> {
    const id = diskIdFor(request.name);
    return this.serial(id, async () => {
      const size = Math.max(this.minDiskBytes, Math.ceil(request.capacityBytes / MiB) * MiB);
      if (size > this.maxDiskBytes) throw new PassvolError('PV_ERR_OUT_OF_RANGE', `capacity ${request.capacityBytes} exceeds the pool's largest disk (${this.maxDiskBytes} bytes)`);
      const existing = await this.get(id);
      if (existing) {
        const sameSource = JSON.stringify(existing.source ?? {}) === JSON.stringify(request.source ?? {});
        if (existing.capacityBytes !== size || !sameSource) {
          throw new PassvolError('PV_ERR_ALREADY_EXISTS', `volume "${request.name}" exists with ${existing.capacityBytes} bytes and another source; use another name`);
        }
        const differ = SHAPING_PARAMETERS.filter((k) => (existing.parameters[k] ?? '') !== (request.parameters[k] ?? ''));
        if (differ.length > 0) {
          const was = differ.map((k) => `${k}=${JSON.stringify(existing.parameters[k] ?? '')}`).join(', ');
          const asked = differ.map((k) => `${k}=${JSON.stringify(request.parameters[k] ?? '')}`).join(', ');
          throw new PassvolError('PV_ERR_ALREADY_EXISTS', `volume "${request.name}" exists with other parameters (${was}, not ${asked}); use another name`);
        }
        return existing;
      }
      if (size > (await this.availableBytes())) throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `the disk pool has no room for ${size} bytes`);
      const img = this.imagePath(id);
      const tmp = `${img}.tmp-${process.pid}`;
      await rm(tmp, { force: true });
      if (request.source?.snapshotId || request.source?.volumeId) {
        const from = await this.sourceImage(request.source);
        if (size < from.sizeBytes) throw new PassvolError('PV_ERR_OUT_OF_RANGE', `capacity ${size} is smaller than the source (${from.sizeBytes} bytes)`);
        try {
          // A source volume may be in use: copied frozen, as for a snapshot (a snapshot image has no devices).
          await this.copyFrozen(id, from.path, tmp);
        } catch (e) {
          await rm(tmp, { force: true });
          throw e;
        }
      } else {
        await (await open(tmp, 'w', 0o600)).close();
      }
      await truncate(tmp, size);
      await syncFile(tmp);
      await rename(tmp, img);
      const disk: Disk = { id, name: request.name, capacityBytes: size, createdAt: new Date().toISOString(), parameters: request.parameters };
      if (request.source) disk.source = request.source;
      await writeJsonDurably(this.metaPath(id), disk);
      return disk;
    });
  }

  private async sourceImage(source: DiskSource): Promise<{ path: string; sizeBytes: number }> {
    if (source.snapshotId) {
      const snap = await this.getSnapshot(source.snapshotId);
      if (!snap) throw notFound(`source snapshot ${source.snapshotId} does not exist`);
      return { path: this.imagePath(snap.id), sizeBytes: snap.sizeBytes };
    }
    const disk = await this.get(source.volumeId ?? '');
    if (!disk) throw notFound(`source volume ${source.volumeId} does not exist`);
    return { path: this.imagePath(disk.id), sizeBytes: disk.capacityBytes };
  }

  delete(id: string): Promise<void> {
    return this.serial(id, async () => {
      const disk = await this.get(id);
      if (!disk) return;
      const devices = await this.loops.devicesOf(this.imagePath(id));
      for (const dev of devices) {
        const mounts = await mountsOfDevice(dev).catch(() => []);
        if (mounts.length > 0) throw failedPrecondition(`volume ${id} is still mounted at ${mounts.map((m) => m.mountPoint).join(', ')}; unpublish and unstage it first`);
      }
      if (disk.attachment) throw failedPrecondition(`volume ${id} is attached to node ${disk.attachment.nodeId}; detach it (ControllerUnpublishVolume) first`);
      await this.loops.detachAll(this.imagePath(id));
      // Metadata first: once it is gone the volume no longer exists, and a crash leaves only an orphan image.
      await removeDurably(this.metaPath(id));
      await removeDurably(this.imagePath(id));
    });
  }

  attach(id: string, nodeId: string, readonly: boolean): Promise<{ devicePath: string }> {
    return this.serial(id, async () => {
      const disk = await this.get(id);
      if (!disk) throw notFound(`volume ${id} does not exist`);
      if (nodeId !== this.options.nodeId) throw notFound(`node ${nodeId} is not served by this disk pool (it serves ${this.options.nodeId})`);
      if (disk.attachment && disk.attachment.nodeId !== nodeId) throw failedPrecondition(`volume ${id} is attached to node ${disk.attachment.nodeId}`);
      if (disk.attachment && disk.attachment.readonly !== readonly) {
        throw new PassvolError('PV_ERR_ALREADY_EXISTS', `volume ${id} is attached ${disk.attachment.readonly ? 'read-only' : 'read-write'} already`);
      }
      const devicePath = await this.loops.attach(this.imagePath(id), readonly);
      if (disk.attachment?.devicePath !== devicePath) {
        await writeJsonDurably(this.metaPath(id), { ...disk, attachment: { nodeId, devicePath, readonly } });
      }
      return { devicePath };
    });
  }

  detach(id: string, nodeId: string): Promise<void> {
    return this.serial(id, async () => {
      const disk = await this.get(id);
      if (!disk) return;
      if (disk.attachment && disk.attachment.nodeId !== nodeId) return;
      for (const dev of await this.loops.devicesOf(this.imagePath(id))) {
        const mounts = await mountsOfDevice(dev).catch(() => []);
        if (mounts.length > 0) throw failedPrecondition(`volume ${id} is still mounted at ${mounts.map((m) => m.mountPoint).join(', ')} on node ${nodeId}`);
      }
      await this.loops.detachAll(this.imagePath(id));
      if (disk.attachment) {
        const { attachment: _gone, ...rest } = disk;
        await writeJsonDurably(this.metaPath(id), rest);
      }
    });
  }

  expand(id: string, capacityBytes: number): Promise<Disk> {
    return this.serial(id, async () => {
      const disk = await this.get(id);
      if (!disk) throw notFound(`volume ${id} does not exist`);
      const size = Math.ceil(capacityBytes / MiB) * MiB;
      if (size <= disk.capacityBytes) return disk;
      if (size > this.maxDiskBytes) throw new PassvolError('PV_ERR_OUT_OF_RANGE', `capacity ${capacityBytes} exceeds the pool's largest disk`);
      if (size - disk.capacityBytes > (await this.availableBytes())) throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', 'the disk pool has no room to grow this volume');
      await truncate(this.imagePath(id), size);
      await syncFile(this.imagePath(id));
      await this.loops.refreshCapacity(this.imagePath(id));
      const grown = { ...disk, capacityBytes: size };
      await writeJsonDurably(this.metaPath(id), grown);
      return grown;
    });
  }

  async health(disk: Disk): Promise<{ abnormal: boolean; message: string }> {
    const st = await stat(this.imagePath(disk.id)).catch(() => undefined);
    if (!st) return { abnormal: true, message: `disk image ${this.imagePath(disk.id)} is missing` };
    if (st.size < disk.capacityBytes) return { abnormal: true, message: `disk image is ${st.size} bytes, smaller than the volume's ${disk.capacityBytes}` };
    return { abnormal: false, message: 'disk image present' };
  }

  async refreshAttached(id: string): Promise<void> {
    this.checkId(id);
    await this.loops.refreshCapacity(this.imagePath(id));
  }

  createSnapshot(name: string, sourceVolumeId: string): Promise<DiskSnapshot> {
    const id = snapshotIdFor(name);
    return this.serial(id, async () => {
      const existing = await this.getSnapshot(id);
      if (existing) {
        if (existing.sourceVolumeId !== sourceVolumeId) throw new PassvolError('PV_ERR_ALREADY_EXISTS', `snapshot "${name}" exists for volume ${existing.sourceVolumeId}`);
        return existing;
      }
      const disk = await this.get(sourceVolumeId);
      if (!disk) throw notFound(`source volume ${sourceVolumeId} does not exist`);
      const img = this.imagePath(id);
      const tmp = `${img}.tmp-${process.pid}`;
      try {
        await this.copyFrozen(id, this.imagePath(disk.id), tmp);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      await syncFile(tmp);
      await rename(tmp, img);
      const snap: DiskSnapshot = { id, name, sourceVolumeId, sizeBytes: disk.capacityBytes, createdAt: new Date().toISOString() };
      await writeJsonDurably(this.metaPath(id), snap);
      return snap;
    });
  }

  /**
   * Copies an image with the filesystem of each of its loop devices frozen, so the copy holds everything
   * written before it, consistently: by this host when the disk is mounted here, by the sandbox's guest when
   * it is passed through; an image no device holds is copied as it is. `key` names the freeze note.
   */
  private async copyFrozen(key: string, source: string, to: string): Promise<void> {
    const copy = () => copyFile(source, to, fsConstants.COPYFILE_FICLONE);
    const devices = await this.loops.devicesOf(source);
    const inGuests = this.options.sandboxFreezer;
    await this.freezer.whileFrozen(key, await this.hostMountsOf(devices), () => (inGuests ? inGuests.whileFrozen(devices, copy) : copy()));
  }

  /** One mount point per loop device (of an image) that is mounted on this host (a freeze takes the whole filesystem). */
  private async hostMountsOf(devices: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const device of devices) {
      const first = (await mountsOfDevice(device).catch(() => []))[0];
      if (first) out.push(first.mountPoint);
    }
    return out;
  }

  deleteSnapshot(id: string): Promise<void> {
    // Only snapshot ids: a volume id here must never reach the disks folder.
    if (!ID_PATTERN.test(id) || !id.startsWith('pvs-')) return Promise.resolve();
    return this.serial(id, async () => {
      await removeDurably(this.metaPath(id));
      await removeDurably(this.imagePath(id));
    });
  }

  async getSnapshot(id: string): Promise<DiskSnapshot | undefined> {
    if (!ID_PATTERN.test(id) || !id.startsWith('pvs-')) return undefined;
    const raw = await readJsonIfExists(this.metaPath(id));
    return raw === undefined ? undefined : SnapshotSchema.parse(raw);
  }

  async listSnapshots(): Promise<DiskSnapshot[]> {
    const names = (await readdir(this.snapshotsDir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    const out: DiskSnapshot[] = [];
    for (const n of names) {
      const s = await this.getSnapshot(n.replace(/\.json$/, ''));
      if (s) out.push(s);
    }
    return out;
  }

  /**
   * Room for new disks: the pool filesystem's free space, less what existing disks may still claim. Images
   * are sparse, so a disk written later takes space the filesystem shows as free today; counting only the
   * free space would promise it twice and a guest would meet ENOSPC.
   */
  async availableBytes(): Promise<number> {
    const s = await statfs(this.options.dir);
    let promised = 0;
    for (const d of await this.list()) {
      const st = await stat(this.imagePath(d.id)).catch(() => undefined);
      if (st) promised += Math.max(0, d.capacityBytes - st.blocks * 512);
    }
    return Math.max(0, s.bavail * s.bsize - promised);
  }

  /** Used by the node side to verify a device really is this volume's. */
  async verifyDevice(id: string, devicePath: string): Promise<boolean> {
    this.checkId(id);
    const name = devicePath.replace(/^\/dev\//, '');
    // sysfs is generated in memory: one synchronous read (this runs on every publish).
    const backing = /^loop\d+$/.test(name) ? readSysfs(`/sys/block/${name}/loop/backing_file`) : undefined;
    if (backing !== undefined) return backing.trim() === this.imagePath(id);
    return (await this.loops.devicesOf(this.imagePath(id))).includes(devicePath);
  }
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(join(path, '..'));
}

function readSysfs(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
