// The pod's cgroup on the host, as Kata's sandbox_cgroup_only: the process that holds a sandbox joins the
// cgroup the pod's sandbox names (linux.cgroupsPath, under the pod cgroup where kubelet sets the pod's
// limits) before it starts QEMU, so QEMU, virtiofsd and every helper they need are counted and limited with
// the pod, and the RuntimeClass's overhead is what they cost beyond the containers. At teardown the process
// goes back where it was and removes the cgroup; gc removes what a crashed one left (state.json lists it).
// cgroupfs paths only: systemd's "slice:prefix:name" form needs a transient unit made over D-Bus.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, posix, relative } from 'node:path';
import { failedPrecondition } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { readMountTable } from '../../common/mount-table.js';
import type { OciSpec } from '../oci/bundle.js';

const BUSY_WAIT_MS = 5000;
const BUSY_STEP_MS = 50;

export interface CgroupHierarchy {
  /** Where it is mounted. */
  mount: string;
  version: 1 | 2;
  /** A v1 hierarchy's controllers and name= tag, as /proc/<pid>/cgroup lists them; empty for v2. */
  controllers: string[];
  /** The folder this process is in. */
  current: string;
}

export type PodCgroupPath = { kind: 'cgroupfs'; path: string } | { kind: 'unsupported'; path: string; why: string };

/** The cgroup path the bundle asks for, if any. */
export function podCgroupPathOf(spec: OciSpec): PodCgroupPath | undefined {
  const raw = (spec.linux as { cgroupsPath?: unknown } | undefined)?.cgroupsPath;
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') return { kind: 'unsupported', path: String(raw), why: 'linux.cgroupsPath is not a string' };
  if (raw.split(':').length === 3) return { kind: 'unsupported', path: raw, why: "systemd's cgroup driver (slice:prefix:name) is not supported: configure the cgroupfs driver for the passvol runtime" };
  if (raw.split('/').includes('..') || raw.includes('\0')) return { kind: 'unsupported', path: raw, why: 'linux.cgroupsPath must not climb with ..' };
  const normal = posix.normalize(raw).replace(/\/+$/, '');
  // The root cgroup, or the runtime's own: not a cgroup of the sandbox's that could be made and removed.
  if (normal === '' || normal === '.') return { kind: 'unsupported', path: raw, why: "linux.cgroupsPath names no cgroup of the sandbox's own" };
  return { kind: 'cgroupfs', path: normal };
}

/** The line of /proc/<pid>/cgroup for a hierarchy: "0::path" (v2), "N:ctrl,ctrl:path" (v1). */
function parseProcCgroup(text: string): { controllers: string[]; path: string }[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, controllers = '', ...rest] = line.split(':');
      return { controllers: controllers ? controllers.split(',') : [], path: rest.join(':') };
    });
}

/** Every cgroup hierarchy mounted here (v1 ones, the v2 one), each once, with where this process is in it. */
export async function cgroupHierarchies(pid: number | 'self' = 'self'): Promise<CgroupHierarchy[]> {
  const mine = parseProcCgroup(await readFile(`/proc/${pid}/cgroup`, 'utf8'));
  const seen = new Set<string>();
  const out: CgroupHierarchy[] = [];
  for (const m of await readMountTable()) {
    if ((m.fstype !== 'cgroup' && m.fstype !== 'cgroup2') || seen.has(m.majorMinor)) continue;
    seen.add(m.majorMinor);
    const version = m.fstype === 'cgroup2' ? 2 : 1;
    const controllers = version === 2 ? [] : m.superOptions.split(',').filter((o) => !['rw', 'ro'].includes(o) && !o.startsWith('release_agent=') && o !== 'noprefix' && o !== 'clone_children' && o !== 'xattr' && o !== 'nsdelegate');
    const line = mine.find((l) => (version === 2 ? l.controllers.length === 0 : l.controllers.length > 0 && l.controllers.every((c) => controllers.includes(c))));
    // A hierarchy mounted from below its root (a container's view) cannot place an absolute path: left out.
    if (!line || m.root !== '/') continue;
    out.push({ mount: m.mountPoint, version, controllers, current: join(m.mountPoint, line.path) });
  }
  return out;
}

/** The folder a cgroupfs path names in a hierarchy: absolute from its root, relative from where this process is. */
export function cgroupDir(h: CgroupHierarchy, path: string): string {
  return isAbsolute(path) ? join(h.mount, path) : join(h.current, path);
}

/** A v1 cpuset cgroup takes no process until it has CPUs and memory nodes: made folders get their parent's. */
async function mkdirCpuset(h: CgroupHierarchy, dir: string): Promise<void> {
  let at = h.mount;
  for (const part of relative(h.mount, dir).split('/').filter(Boolean)) {
    const parent = at;
    at = join(at, part);
    await mkdir(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if ((await readFile(join(at, file), 'utf8')).trim() === '') await writeFile(join(at, file), await readFile(join(parent, file), 'utf8'));
    }
  }
}

export interface JoinedCgroup {
  /** The folders joined, one per hierarchy: removed at leave, and by gc after a crash. */
  dirs: string[];
  /** Where the process was before, per joined folder. */
  previous: string[];
}

/** Moves this process (and so every child it starts after) into the path in every hierarchy; all or none. */
export async function joinCgroup(path: string, hierarchies: readonly CgroupHierarchy[], log: Logger): Promise<JoinedCgroup> {
  // A cgroup that is there already is someone else's (runc makes a container's, as this does a sandbox's):
  // joined, it would be removed at teardown.
  const existing = hierarchies.map((h) => cgroupDir(h, path)).filter((d) => existsSync(d));
  if (existing.length > 0) throw failedPrecondition(`the pod's cgroup ${path} exists already (${existing[0]}): another sandbox or runtime uses it`);
  const joined: JoinedCgroup = { dirs: [], previous: [] };
  try {
    for (const h of hierarchies) {
      const dir = cgroupDir(h, path);
      // Listed as soon as it is made, so that a failure after undoes it.
      joined.dirs.push(dir);
      joined.previous.push(h.current);
      if (h.version === 1 && h.controllers.includes('cpuset')) await mkdirCpuset(h, dir);
      else await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'cgroup.procs'), String(process.pid));
    }
  } catch (e) {
    await leaveCgroup(joined, log);
    throw failedPrecondition(`cannot join the pod's cgroup ${path}: ${(e as Error).message}`);
  }
  return joined;
}

/** Moves this process back and removes the joined folders; returns the ones still in use (kept). */
export async function leaveCgroup(joined: JoinedCgroup, log: Logger): Promise<string[]> {
  for (const back of joined.previous) {
    await writeFile(join(back, 'cgroup.procs'), String(process.pid)).catch((e: Error) => log.warn({ err: e.message, cgroup: back }, 'cannot move back to the cgroup it came from'));
  }
  return removeCgroupDirs(joined.dirs, log);
}

/**
 * Removes cgroup folders once empty; the parents are the pod's, left alone. The kernel refuses a folder with
 * a process in it, a dead one not yet reaped included (a VM whose runtime died is reaped by whoever inherits
 * it, a moment later): a busy folder is tried again for a while, then kept and returned.
 */
export async function removeCgroupDirs(dirs: readonly string[], log: Logger, waitMs = BUSY_WAIT_MS): Promise<string[]> {
  const kept: string[] = [];
  const deadline = Date.now() + waitMs;
  // Only folders below a cgroup mount: a state file's list is never trusted to name another place.
  const mounts = (await readMountTable()).filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2').map((m) => `${m.mountPoint}/`);
  for (const dir of dirs) {
    if (!mounts.some((m) => dir.startsWith(m) && dir.length > m.length) || dir.split('/').includes('..')) {
      log.warn({ cgroup: dir }, 'not a cgroup below a cgroup mount: left alone');
      continue;
    }
    for (;;) {
      const err = await rmdir(dir).then(() => undefined, (e: NodeJS.ErrnoException) => e);
      if (!err || err.code === 'ENOENT') break;
      if (err.code === 'EBUSY' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, BUSY_STEP_MS));
        continue;
      }
      kept.push(dir);
      log.warn({ err: err.message, cgroup: dir }, 'cgroup kept');
      break;
    }
  }
  return kept;
}
