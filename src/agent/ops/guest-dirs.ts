// Creates mount-point directories under /run/passvol/, refusing to follow a symlink on the way.
import { lstat, mkdir } from 'node:fs/promises';
import { AgentError } from '../../protocol/index.js';
import type { PathMapper } from '../guest-paths.js';

export async function ensureGuestDir(paths: PathMapper, guestPath: string): Promise<string> {
  const segments = guestPath.split('/').slice(1);
  let guest = '';
  for (const segment of segments) {
    guest += `/${segment}`;
    const host = paths.toHost(guest);
    const st = await lstat(host).catch(() => undefined);
    if (st === undefined) {
      await mkdir(host, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      continue;
    }
    if (st.isSymbolicLink()) throw new AgentError('INVALID_ARGUMENT', `${guest} is a symlink; the agent does not follow symlinks under /run/passvol/`);
    if (!st.isDirectory()) throw new AgentError('FAILED_PRECONDITION', `${guest} exists and is not a directory`);
  }
  return paths.toHost(guestPath);
}
