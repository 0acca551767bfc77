// Paths the runtime names in requests are guest paths. The agent works only under /run/passvol/, and in
// tests every guest path is prefixed with --root so the agent can run on a host without touching /.
import { posix } from 'node:path';
import { AgentError } from '../protocol/index.js';

export const PASSVOL_RUN_DIR = '/run/passvol';

const SAFE_SEGMENT = /^[A-Za-z0-9_.@+=:-]+$/;

/** Throws INVALID_ARGUMENT unless `path` is a normalised absolute path strictly under /run/passvol/. */
export function checkGuestPath(path: string, what: string): string {
  const segments = path.split('/').slice(1);
  if (!path.startsWith('/') || posix.normalize(path) !== path || path.endsWith('/')) {
    throw new AgentError('INVALID_ARGUMENT', `${what} "${path}" must be a normalised absolute path (no "//", ".", ".." or trailing "/")`);
  }
  if (segments.some((s) => s === '.' || s === '..' || !SAFE_SEGMENT.test(s))) {
    throw new AgentError('INVALID_ARGUMENT', `${what} "${path}" may use only [A-Za-z0-9_.@+=:-] in its segments, and no "." or ".."`);
  }
  if (!path.startsWith(`${PASSVOL_RUN_DIR}/`)) {
    throw new AgentError('INVALID_ARGUMENT', `${what} "${path}" must be under ${PASSVOL_RUN_DIR}/`);
  }
  return path;
}

/** Throws INVALID_ARGUMENT unless `path` is an absolute in-container path other than "/" without "..". */
export function checkContainerPath(path: string, what: string): string {
  if (!path.startsWith('/')) throw new AgentError('INVALID_ARGUMENT', `${what} "${path}" must be absolute`);
  if (path.split('/').includes('..')) throw new AgentError('INVALID_ARGUMENT', `${what} "${path}" must not contain ".."`);
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '') throw new AgentError('INVALID_ARGUMENT', `${what} must not be the container's root "/"`);
  return normal;
}

/** Maps guest paths to where they are on this machine (identity in the guest; under --root in tests). */
export class PathMapper {
  constructor(readonly root: string) {}

  toHost(guestPath: string): string {
    return this.root === '' ? guestPath : `${this.root}${guestPath}`;
  }

  toGuest(hostPath: string): string {
    if (this.root === '') return hostPath;
    return hostPath.startsWith(`${this.root}/`) ? hostPath.slice(this.root.length) : hostPath;
  }
}
