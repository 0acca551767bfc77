// Which target holds a volume that may be published to one target only: a symlink per volume in the
// record root (`.passvol-index/<sha256(volume id)>` -> target path). Checking is one readlink instead of
// reading every record, and creating it with symlink() is atomic, so two racing publishes cannot both win.
// Like the record store beside it, it makes its few local system calls synchronously.
import { mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { errnoCode } from '../../common/errors.js';
import type { RecordStore } from '../../directvolume/index.js';
import { RECORD_METADATA } from './node-context.js';

export const INDEX_DIR = '.passvol-index';

export class PublishIndex {
  constructor(private readonly records: RecordStore) {}

  private entry(volumeId: string): string {
    return join(this.records.root, INDEX_DIR, createHash('sha256').update(volumeId).digest('hex'));
  }

  /**
   * Claims the volume for the target. Returns the other target holding it, or undefined when the claim
   * succeeded. A claim whose target has no record of this volume any more (a crash between claim and
   * record) is stale and taken over.
   */
  async claim(volumeId: string, target: string): Promise<string | undefined> {
    const path = this.entry(volumeId);
    mkdirSync(join(this.records.root, INDEX_DIR), { recursive: true, mode: 0o700 });
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
      const record = await this.records.find(holder).catch(() => undefined);
      if (record?.mountInfo.metadata?.[RECORD_METADATA.volumeId] === volumeId) return holder;
      unlinkQuietly(path);
    }
    return undefined;
  }

  /** The target a live claim points at (its record names this volume), without claiming anything. */
  async holder(volumeId: string): Promise<string | undefined> {
    const holder = readlinkQuietly(this.entry(volumeId));
    if (holder === undefined) return undefined;
    const record = await this.records.find(holder).catch(() => undefined);
    return record?.mountInfo.metadata?.[RECORD_METADATA.volumeId] === volumeId ? holder : undefined;
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
