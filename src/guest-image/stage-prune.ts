// Stages no manifest uses any more (a kernel update, an agent change) are removed, so the cache does not
// grow by an agent disk (~120 MB) at every change. A stage is kept while any manifest in the image folder
// names it, and any stage touched in the last hour is kept too: another build may be about to name it.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const STAGE_DIR = /^(kernel|modules|initramfs|agent-disk)-([0-9a-f]+)$/;
const GRACE_MS = 3600_000;

export async function pruneStages(imageRoot: string, now = Date.now()): Promise<string[]> {
  const names = await readdir(imageRoot).catch(() => [] as string[]);
  // Folders carry a prefix of the stage's hash; manifests carry the whole hash.
  const keep: string[] = [];
  for (const m of names.filter((n) => /^manifest.*\.json$/.test(n))) {
    try {
      const stages = (JSON.parse(await readFile(join(imageRoot, m), 'utf8')) as { stages?: Record<string, string> }).stages ?? {};
      for (const [stage, hash] of Object.entries(stages)) keep.push(`${stage}-${hash}`);
    } catch {
      // An unreadable manifest protects nothing; its stages age out like the rest.
    }
  }
  const removed: string[] = [];
  for (const n of names) {
    if (!STAGE_DIR.test(n) || keep.some((k) => k.startsWith(n))) continue;
    const st = await stat(join(imageRoot, n)).catch(() => undefined);
    if (!st || now - st.mtimeMs < GRACE_MS) continue;
    await rm(join(imageRoot, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
