// Stage "agent-disk": a read-only ext4 image with node, its libraries, the agent bundle, the kernel modules
// init loads in the background (AGENT_DISK_MODULES) and, when there is one, the agent's startup snapshot,
// made by `mkfs.ext4 -d` (nothing is mounted on the host). Fixed UUID, hash seed and times make the
// filesystem reproducible: E2FSPROGS_FAKE_TIME pins the superblock and inode
// times, the staged files' mtimes are set to the same. The snapshot (agent-snapshot.ts) is the exception:
// V8 does not write it byte for byte the same twice, so an image with one is cached by its inputs but is
// not bit-reproducible.
import { chmod, copyFile, lstat, mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Exec } from '../common/exec.js';
import { AGENT_DISK_MODULES, AGENT_DISK_SERIAL, FIXED_MTIME, GUEST_AGENT, GUEST_NODE, TCG_CPU_MODEL, guestAgentSnapshot } from './guest-layout.js';
import { buildAgentSnapshot, findQemuUser, snapshotPlans } from './agent-snapshot.js';
import { sha256File, sha256Hex } from './hash.js';
import type { RuntimeFile } from './node-runtime.js';
import type { OnProgress } from './progress.js';
import { runCachedStage, type StageResult } from './stage-cache.js';

const RECIPE = 4;
export const AGENT_DISK_FILE = 'agent.ext4';
/** Any fixed UUID will do; this one is passvol's. */
const FS_UUID = '6a1c0d4e-5b3f-4c2a-9e8d-7f6a5b4c3d2e';

const AgentDiskMeta = z.object({ file: z.string(), sha256: z.string(), bytes: z.number(), contentBytes: z.number(), snapshots: z.array(z.string()) });
export type AgentDiskMeta = z.infer<typeof AgentDiskMeta>;

/** Room for the content plus ext4 metadata, in whole MiB (4 MiB steps). */
export function diskSizeFor(contentBytes: number, fileCount: number): number {
  const MiB = 1024 * 1024;
  const raw = contentBytes * 1.05 + fileCount * 8192 + 8 * MiB;
  return Math.ceil(raw / (4 * MiB)) * 4 * MiB;
}

export async function agentDiskStage(o: {
  root: string;
  exec: Exec;
  runtime: readonly RuntimeFile[];
  bundle: Buffer;
  /** The CommonJS bundle of the agent's snapshot entry; none means no snapshot on the disk. */
  snapshotBundle?: Buffer;
  /** The background module groups: the modules stage's folder, its hash, and the files to take from it. */
  modules?: { dir: string; hash: string; files: readonly string[] };
  onProgress?: OnProgress;
}): Promise<StageResult<AgentDiskMeta>> {
  const runtimeInputs = await Promise.all(o.runtime.map(async (f) => ({ guestPath: f.guestPath, mode: f.mode, sha256: await sha256File(f.source) })));
  const node = o.runtime.find((f) => f.guestPath === GUEST_NODE);
  if (o.snapshotBundle && !node) throw new Error(`the guest runtime has no ${GUEST_NODE} to build the agent's snapshots with`);
  const plans = o.snapshotBundle && node ? snapshotPlans(node.source, await findQemuUser()) : [];
  const snapshotInputs = o.snapshotBundle ? { bundle: sha256Hex(o.snapshotBundle), made: plans.map((p) => p.guestPath), tcgCpu: TCG_CPU_MODEL } : null;
  return runCachedStage({
    root: o.root,
    stage: 'agent-disk',
    inputs: { recipe: RECIPE, runtime: runtimeInputs, agent: sha256Hex(o.bundle), snapshot: snapshotInputs, modules: o.modules?.hash ?? null, mtime: FIXED_MTIME, uuid: FS_UUID },
    meta: AgentDiskMeta,
    onProgress: o.onProgress,
    describe: (m) =>
      `${(m.bytes / 1e6).toFixed(0)} MB image, ${(m.contentBytes / 1e6).toFixed(1)} MB of files, ` +
      (m.snapshots.length ? `agent snapshots: ${m.snapshots.join(', ')}` : 'no agent snapshot') +
      (o.snapshotBundle && !m.snapshots.includes(guestAgentSnapshot('tcg')) ? ' (none for TCG: install qemu-user)' : ''),
    build: async (dir) => {
      const tree = join(dir, 'tree');
      for (const f of o.runtime) {
        const to = join(tree, f.guestPath);
        await mkdir(dirname(to), { recursive: true });
        await copyFile(f.source, to);
        await chmod(to, f.mode);
      }
      const agentPath = join(tree, GUEST_AGENT);
      await mkdir(dirname(agentPath), { recursive: true });
      await writeFile(agentPath, o.bundle, { mode: 0o644 });
      if (o.modules) {
        await mkdir(join(tree, AGENT_DISK_MODULES), { recursive: true });
        for (const f of o.modules.files) await copyFile(join(o.modules.dir, f), join(tree, AGENT_DISK_MODULES, f));
      }
      const snapshotBundle = o.snapshotBundle;
      if (snapshotBundle) {
        for (const plan of plans) await buildAgentSnapshot(o.exec, { runner: plan.runner, bundle: snapshotBundle, workDir: dir, blobPath: join(tree, plan.guestPath) });
      }
      const { bytes: contentBytes, files, paths } = await pinTimes(tree);
      const image = join(dir, AGENT_DISK_FILE);
      const size = diskSizeFor(contentBytes, files);
      await writeFile(image, '');
      await o.exec.run('truncate', ['-s', String(size), image]);
      await o.exec.run('env', [
        `E2FSPROGS_FAKE_TIME=${FIXED_MTIME}`,
        'mkfs.ext4', '-q', '-F', '-b', '4096', '-m', '0', '-O', '^has_journal',
        '-U', FS_UUID, '-E', `hash_seed=${FS_UUID},root_owner=0:0`, '-L', AGENT_DISK_SERIAL,
        '-d', tree, image,
      ], { timeoutMs: 300_000 });
      // mkfs -d copies each file's ctime, which no syscall can set on the staged tree: pin it afterwards.
      const pin = ['/', '/lost+found', ...paths].map((p) => `set_inode_field ${p} ctime @${FIXED_MTIME}`).join('\n') + '\n';
      await o.exec.run('env', [`E2FSPROGS_FAKE_TIME=${FIXED_MTIME}`, 'debugfs', '-w', '-f', '-', image], { input: pin });
      await rm(tree, { recursive: true, force: true });
      return { file: AGENT_DISK_FILE, sha256: await sha256File(image), bytes: (await stat(image)).size, contentBytes, snapshots: plans.map((p) => p.guestPath) };
    },
  });
}

/** Sets every mtime/atime under `dir` to FIXED_MTIME; returns the bytes, the file count and the image paths. */
async function pinTimes(dir: string, prefix = ''): Promise<{ bytes: number; files: number; paths: string[] }> {
  let bytes = 0;
  const paths: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (/\s/.test(name)) throw new Error(`unexpected whitespace in agent disk path ${prefix}/${name}`);
    const p = join(dir, name);
    const st = await lstat(p);
    paths.push(`${prefix}/${name}`);
    if (st.isDirectory()) {
      const sub = await pinTimes(p, `${prefix}/${name}`);
      bytes += sub.bytes;
      paths.push(...sub.paths);
    } else {
      bytes += st.size;
    }
    await utimes(p, FIXED_MTIME, FIXED_MTIME);
  }
  await utimes(dir, FIXED_MTIME, FIXED_MTIME);
  return { bytes, files: paths.length, paths };
}
