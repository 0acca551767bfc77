// Which target holds a volume that may be published to one target only: a symlink per volume in the
// record root (`.passvol-index/<driver name>/<sha256(volume id)>` -> target path). Checking is one readlink
// instead of reading every record, and creating it with symlink() is atomic, so two racing publishes cannot
// both win. The disk and NAS node plugins share the record root: each keeps its claims in its own folder, so
// neither judges the other's.
// Like the record store beside it, it makes its few local system calls synchronously.
import { mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { errnoCode, PassvolError } from '../../common/errors.js';
import type { RecordStore } from '../../directvolume/index.js';
import { RECORD_METADATA } from './node-context.js';

export const INDEX_DIR = '.passvol-index';

export const claimName = (volumeId: string): string => createHash('sha256').update(volumeId).digest('hex');

/** The folder of one driver's claims. */
export const claimDir = (root: string, driverName: string): string => join(root, INDEX_DIR, driverName);

export class PublishIndex {
  constructor(
    private readonly records: RecordStore,
    private readonly driverName: string,
  ) {}

  private entry(volumeId: string): string {
    return join(claimDir(this.records.root, this.driverName), claimName(volumeId));
  }

  /** Whether the record at a target is this volume's (the claim pointing there is live). */
  private async recordHolds(target: string, volumeId: string): Promise<boolean> {
    const record = await this.records.find(target).catch(() => undefined);
    return record?.mountInfo.metadata?.[RECORD_METADATA.volumeId] === volumeId;
  }

  /**
   * Claims the volume for the target. Returns the other target holding it, or undefined when the claim
   * succeeded. A claim whose target has no record of this volume any more (a crash between claim and
   * record) is stale and taken over.
   */
  async claim(volumeId: string, target: string): Promise<string | undefined> {
    const path = this.entry(volumeId);
    mkdirSync(claimDir(this.records.root, this.driverName), { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        symlinkSync(target, path);
        return undefined;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      const holder = readlinkQuietly(path);
      if (holder === undefined) continue;
      if (holder === target) return undefined;
      if (await this.recordHolds(holder, volumeId)) return holder;
      unlinkQuietly(path);
    }
    // Each try lost to another publish of this volume that came and went: not claimed, so not "claimed".
    throw new PassvolError('PV_ERR_ABORTED', `volume ${volumeId} is being claimed by other publishes at this moment; retry`);
  }

  /** The target a live claim points at (its record names this volume), without claiming anything. */
  async holder(volumeId: string): Promise<string | undefined> {
    const holder = readlinkQuietly(this.entry(volumeId));
    return holder !== undefined && (await this.recordHolds(holder, volumeId)) ? holder : undefined;
  }

  /** Drops the claim if this target holds it. */
  async release(volumeId: string, target: string): Promise<void> {
    const path = this.entry(volumeId);
    if (readlinkQuietly(path) !== target) return;
    try {
      unlinkSync(path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
}

function readlinkQuietly(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
