// A snapshot of a disk mounted on this host is taken with its filesystem frozen (FIFREEZE, via fsfreeze):
// the freeze writes out what applications wrote and blocks new writes, so the copy is a clean filesystem
// rather than a torn one. A frozen filesystem blocks every writer on the node until thawed, so the mount
// points are noted in the pool before freezing and thawed from that note at start-up if the driver died
// in between.
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Exec } from '../../../common/exec.js';
import { readJsonIfExists, removeDurably, writeJsonDurably } from '../../../common/durable-json.js';

const FREEZE_TIMEOUT_MS = 30_000;
const Note = z.object({ mountPoints: z.array(z.string()) });

export class FilesystemFreezer {
  constructor(
    private readonly exec: Exec,
    /** Where the notes of frozen filesystems go (in the pool, so a restart finds them). */
    private readonly notesDir: string,
  ) {}

  /** Runs fn with the filesystems at these mount points frozen; they are thawed however fn ends. */
  async whileFrozen<T>(key: string, mountPoints: string[], fn: () => Promise<T>): Promise<T> {
    if (mountPoints.length === 0) return fn();
    const note = join(this.notesDir, `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`);
    await mkdir(this.notesDir, { recursive: true, mode: 0o700 });
    await writeJsonDurably(note, { mountPoints });
    const frozen: string[] = [];
    try {
      for (const mp of mountPoints) {
        await this.exec.run('fsfreeze', ['--freeze', mp], { timeoutMs: FREEZE_TIMEOUT_MS });
        frozen.push(mp);
      }
      return await fn();
    } finally {
      for (const mp of frozen.reverse()) await this.thaw(mp);
      await removeDurably(note);
    }
  }

  /** Thaws what a driver that died mid-snapshot left frozen. */
  async thawLeftovers(): Promise<string[]> {
    const names = await readdir(this.notesDir).catch(() => [] as string[]);
    const thawed: string[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) {
        await removeDurably(join(this.notesDir, name)); // a note whose writer died before it was complete
        continue;
      }
      const note = Note.safeParse(await readJsonIfExists(join(this.notesDir, name)).catch(() => undefined));
      for (const mp of note.success ? note.data.mountPoints : []) {
        if (await this.thaw(mp)) thawed.push(mp);
      }
      await removeDurably(join(this.notesDir, name));
    }
    return thawed;
  }

  /** True when it thawed something; a filesystem that is not frozen (or gone) is left as it is. */
  private async thaw(mountPoint: string): Promise<boolean> {
    return this.exec.run('fsfreeze', ['--unfreeze', mountPoint], { timeoutMs: FREEZE_TIMEOUT_MS }).then(
      () => true,
      () => false,
    );
  }
}
