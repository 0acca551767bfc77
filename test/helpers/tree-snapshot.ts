// A full picture of a directory tree (names, modes, bytes) to show an operation changed nothing.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string, rel: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const p = join(dir, name);
      const r = `${rel}/${name}`;
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        await walk(p, r);
      } else {
        out[r] = `file ${mode} ${(await readFile(p)).toString('base64')}`;
      }
    }
  }
  await walk(root, '');
  return out;
}
