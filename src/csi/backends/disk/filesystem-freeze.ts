// A snapshot or clone of a disk mounted on this host is taken with its filesystem frozen (FIFREEZE, via
// fsfreeze): the freeze writes out what applications wrote and blocks new writes, so the copy is a clean
// filesystem rather than a torn one.
//
// A frozen filesystem blocks every writer of that volume until thawed, so:
// - the mount root stays open while frozen, and freeze and thaw go through that open directory: an unstage in
//   the meantime fails (busy) instead of leaving a frozen filesystem nobody can reach by path;
// - the mount points are noted in the pool before freezing, and the note is touched while the freeze lasts.
//   The pool is shared by the controller and the node plugin, in PID namespaces of their own, so a note
//   nobody has touched for a while is what tells a dead freezer from a live one: only those are thawed, at
//   start-up and then until none is left.
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Exec } from '../../../common/exec.js';
import { readJsonIfExists, removeDurably, writeJsonDurably } from '../../../common/durable-json.js';

const FREEZE_TIMEOUT_MS = 30_000;
const HEARTBEAT_MS = 5_000;
/** A note untouched for this long belongs to a freezer that died. */
const ABANDONED_NOTE_MS = 4 * HEARTBEAT_MS;
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
    const heartbeat = setInterval(() => void utimes(note, new Date(), new Date()).catch(() => undefined), HEARTBEAT_MS);
    const held: { mountPoint: string; fd: number }[] = [];
    try {
      for (const mountPoint of mountPoints) {
        const fd = openSync(mountPoint, 'r');
        // Counted as frozen before asking: a freeze that times out may still complete in the kernel.
        held.push({ mountPoint, fd });
        await this.exec.run('fsfreeze', ['--freeze', fdPath(fd)], { timeoutMs: FREEZE_TIMEOUT_MS });
      }
      return await fn();
    } finally {
      clearInterval(heartbeat);
      let allThawed = true;
      for (const h of held.reverse()) {
        allThawed = (await this.thaw(fdPath(h.fd))) && allThawed;
        closeSync(h.fd);
      }
      // A thaw that failed for another reason than "not frozen" keeps the note: the sweep tries again.
      if (allThawed) await removeDurably(note);
    }
  }

  /**
   * Thaws what freezers that died left frozen; notes still being touched are left to their owner. Returns the
   * mount points thawed and whether live notes remain (then call again later).
   */
  async thawLeftovers(now = Date.now()): Promise<{ thawed: string[]; pending: boolean }> {
    const names = await readdir(this.notesDir).catch(() => [] as string[]);
    const thawed: string[] = [];
    let pending = false;
    for (const name of names) {
      const path = join(this.notesDir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      if (now - st.mtimeMs < ABANDONED_NOTE_MS) {
        pending = true;
        continue;
      }
      // A temp note (its writer died before renaming it) froze nothing: dropped.
      const note = name.endsWith('.json') ? Note.safeParse(await readJsonIfExists(path).catch(() => undefined)) : undefined;
      let allThawed = true;
      for (const mp of note?.success ? note.data.mountPoints : []) {
        const ok = await this.thaw(mp);
        if (ok) thawed.push(mp);
        allThawed = ok && allThawed;
      }
      if (allThawed) await removeDurably(path);
    }
    return { thawed, pending };
  }

  /** False only when fsfreeze failed for another reason than the filesystem not being frozen (or gone). */
  private async thaw(target: string): Promise<boolean> {
    return this.exec.run('fsfreeze', ['--unfreeze', target], { timeoutMs: FREEZE_TIMEOUT_MS }).then(
      () => true,
      (e: Error) => /Invalid argument|No such file|not a directory|not mounted/i.test(e.message),
    );
  }
}

/** The open mount root as a path another process (fsfreeze) can use. */
const fdPath = (fd: number) => `/proc/${process.pid}/fd/${fd}`;
