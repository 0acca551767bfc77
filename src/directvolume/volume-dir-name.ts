// The record directory name of a volume path, exactly as Kata computes it: the URL-safe base64 alphabet
// ('-' and '_') WITH '=' padding, over the path's bytes as given (no cleaning: a trailing slash changes the name).
import { invalidArgument } from '../common/errors.js';

/** Longest path whose encoded name still fits one directory entry (NAME_MAX 255: 4*ceil(189/3) = 252). */
export const MAX_VOLUME_PATH_BYTES = 189;

export function validateVolumePath(volumePath: string): Buffer {
  if (volumePath.length === 0) {
    throw invalidArgument('volume path is empty: give the absolute path the volume is published at (the CSI target path)');
  }
  if (!volumePath.startsWith('/')) {
    throw invalidArgument(`volume path "${volumePath}" is not absolute: give the full path, starting with "/"`);
  }
  if (volumePath.includes('\0')) {
    throw invalidArgument('volume path contains a NUL byte');
  }
  const bytes = Buffer.from(volumePath, 'utf8');
  if (bytes.length > MAX_VOLUME_PATH_BYTES) {
    throw invalidArgument(
      `volume path is ${bytes.length} bytes; its record directory name would exceed the 255-byte file name limit ` +
        `(at most ${MAX_VOLUME_PATH_BYTES} bytes fit)`,
    );
  }
  return bytes;
}

export function encodeVolumeDirName(volumePath: string): string {
  const bytes = validateVolumePath(volumePath);
  return bytes.toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

const NAME_PATTERN = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** The volume path a directory name stands for, or undefined when the name is not one Kata would write. */
export function decodeVolumeDirName(name: string): string | undefined {
  if (name.length === 0 || !NAME_PATTERN.test(name)) return undefined;
  const bytes = Buffer.from(name.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  const path = bytes.toString('utf8');
  // Only names that round-trip (canonical base64 of valid UTF-8) are records.
  if (Buffer.from(path, 'utf8').toString('base64').replaceAll('+', '-').replaceAll('/', '_') !== name) return undefined;
  return path.startsWith('/') ? path : undefined;
}
