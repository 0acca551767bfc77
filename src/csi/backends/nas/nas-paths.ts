// Path rules shared by the NAS volume id, the StorageClass parameters and the export access: an export path
// is absolute, a subdirectory is relative, and neither may climb out with `..` or hide a NUL.
// Canonical forms only (no `.`, no empty segments, no trailing slash), so one directory has one spelling
// and one volume id.

const NAME_MAX = 255;

function badSegment(segment: string): boolean {
  return segment === '' || segment === '.' || segment === '..' || Buffer.byteLength(segment) > NAME_MAX;
}

/** Why an export path (share) is not acceptable, or undefined when it is. `/` alone is allowed. */
export function exportPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'must not contain NUL';
  if (!path.startsWith('/')) return 'must be an absolute path (start with /)';
  if (path === '/') return undefined;
  if (path.length > 4096) return 'is longer than 4096 characters';
  if (path.slice(1).split('/').some(badSegment)) return 'must be a clean path: no "." or ".." segments, no "//", no trailing "/"';
  return undefined;
}

/** Why a subdirectory of an export is not acceptable, or undefined when it is. Empty means the export itself. */
export function subDirProblem(subDir: string, allowEmpty: boolean): string | undefined {
  if (subDir.includes('\0')) return 'must not contain NUL';
  if (subDir === '') return allowEmpty ? undefined : 'must not be empty';
  if (subDir.startsWith('/')) return 'must be relative to the export (must not start with /)';
  if (subDir.length > 4096) return 'is longer than 4096 characters';
  if (subDir.split('/').some(badSegment)) return 'must be a clean relative path: no "." or ".." segments, no "//", no trailing "/"';
  return undefined;
}

/** Strips trailing slashes a person may have typed (`/share/` -> `/share`), keeping `/` itself. */
export function trimTrailingSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' && path.startsWith('/') ? '/' : trimmed;
}

/** The path a client mounts: the export plus the subdirectory. */
export function joinExportPath(share: string, subDir: string): string {
  if (subDir === '') return share;
  return share === '/' ? `/${subDir}` : `${share}/${subDir}`;
}
