// Target and staging paths come from kubelet; they must lie under the kubelet root so that a bad or
// malicious request cannot make the driver mount or remove anything elsewhere on the host.
import { normalize, sep } from 'node:path';
import { invalidArgument } from '../common/errors.js';

export function checkPath(field: string, value: string | undefined, kubeletRoot: string): string {
  if (!value) throw invalidArgument(`${field} is required`);
  if (!value.startsWith('/')) throw invalidArgument(`${field} "${value}" must be an absolute path`);
  if (value.includes('\0')) throw invalidArgument(`${field} contains a NUL byte`);
  const n = normalize(value);
  const trimmed = value.length > 1 ? value.replace(/\/+$/, '') : value;
  if (n.split(sep).includes('..') || normalize(trimmed) !== trimmed) {
    throw invalidArgument(`${field} "${value}" must be a clean path (no "..", "." or repeated slashes)`);
  }
  const root = kubeletRoot.replace(/\/+$/, '');
  if (!n.startsWith(`${root}/`)) throw invalidArgument(`${field} "${value}" is outside the kubelet root ${root}; the driver only works under it (see --kubelet-root)`);
  return value;
}

export function requireField(field: string, value: string | undefined | null): string {
  if (!value) throw invalidArgument(`${field} is required`);
  return value;
}
