// Resolves a path inside a container's root the way the container will see it: symlinks are followed but
// can never lead out of the root (an absolute link restarts at the root, ".." stops at the root). Used for
// mount destinations and working directories, which come from an image the agent does not trust.
import { constants } from 'node:fs';
import { lstat, readlink, mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from '../protocol/index.js';

const MAX_LINKS = 40;

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && (e.code === 'ENOENT' || e.code === 'ENOTDIR');
}

/** Returns the host path of `path` inside `root` with every symlink resolved within `root`. */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = path.split('/').filter((s) => s !== '' && s !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new AgentError('INVALID_ARGUMENT', `too many symlinks resolving "${path}" in the container`);
    const target = await readlink(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
  }
  return join(root, ...resolved);
}

/** Resolves `path` in `root` and creates it (a directory, or an empty file) if it is missing. */
export async function ensureInRoot(root: string, path: string, kind: 'dir' | 'file'): Promise<string> {
  const host = await resolveInRoot(root, path);
  if (host === root) throw new AgentError('INVALID_ARGUMENT', `"${path}" resolves to the container's root`);
  if (kind === 'dir') {
    await mkdir(host, { recursive: true, mode: 0o755 });
  } else {
    await mkdir(join(host, '..'), { recursive: true, mode: 0o755 });
    await (await open(host, 'a', 0o644)).close();
  }
  return host;
}

/** Linux's O_PATH (node:fs does not export it): a descriptor that pins a file without opening it for I/O. */
const O_PATH = 0o10000000;

/**
 * A directory inside `root`, resolved as resolveInRoot does but through descriptors, for a container that is
 * already running and may swap any name for a symlink meanwhile: each name is opened inside the directory
 * opened before it (/proc/self/fd/N/name, O_NOFOLLOW), so a link is always read as a link and resolved
 * within the root, never followed out of it. The caller owns the returned O_PATH handle.
 */
export async function openDirInRoot(root: string, path: string): Promise<FileHandle> {
  const stack: FileHandle[] = [await open(root, O_PATH | constants.O_DIRECTORY)];
  const pending = path.split('/').filter((s) => s !== '' && s !== '.');
  let links = 0;
  const top = () => stack[stack.length - 1] as FileHandle;
  try {
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '..') {
        if (stack.length > 1) await (stack.pop() as FileHandle).close();
        continue;
      }
      const name = `/proc/self/fd/${top().fd}/${part}`;
      const h = await open(name, O_PATH | constants.O_NOFOLLOW).catch((e: unknown) => {
        if (isNotFound(e)) throw new AgentError('NOT_FOUND', `"${path}" does not exist in the container`);
        throw e;
      });
      const st = await h.stat().catch(async (e: unknown) => {
        await h.close();
        throw e;
      });
      if (st.isSymbolicLink()) {
        await h.close();
        if (++links > MAX_LINKS) throw new AgentError('INVALID_ARGUMENT', `too many symlinks resolving "${path}" in the container`);
        const target = await readlink(name);
        if (target.startsWith('/')) while (stack.length > 1) await (stack.pop() as FileHandle).close();
        pending.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
        continue;
      }
      if (!st.isDirectory()) {
        await h.close();
        throw new AgentError('INVALID_ARGUMENT', `"${path}" is not a directory in the container`);
      }
      stack.push(h);
    }
    const found = stack.pop() as FileHandle;
    await Promise.all(stack.map((h) => h.close()));
    return found;
  } catch (e) {
    await Promise.all(stack.map((h) => h.close()));
    throw e;
  }
}
