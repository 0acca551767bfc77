// Byte sizes from people and scripts: plain bytes (Kata's form) or Kubernetes-style quantities.
import { invalidArgument } from './errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
};

/** Parses "1073741824", "8Gi", "500M", "1.5Gi" into whole bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKMGTP]i?|)\s*[bB]?\s*$/.exec(text);
  const unit = m ? UNITS[m[2] ?? ''] : undefined;
  if (!m || unit === undefined) {
    throw invalidArgument(`size "${text}" is not understood: give bytes (1073741824) or a quantity like 8Gi, 500Mi, 10G`);
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw invalidArgument(`size "${text}" must come to a positive whole number of bytes below 2^53`);
  }
  return bytes;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
