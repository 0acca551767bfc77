import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_VOLUME_PATH_BYTES, decodeVolumeDirName, encodeVolumeDirName } from './volume-dir-name.js';

// Golden vectors: Go's base64.URLEncoding (padded) over the path bytes, computed independently.
const GOLDEN: [string, string][] = [
  ['/kubelet/kata-test-vol-001/volume001', 'L2t1YmVsZXQva2F0YS10ZXN0LXZvbC0wMDEvdm9sdW1lMDAx'],
  ['/kubelet/kata-test-vol-001/volume001/', 'L2t1YmVsZXQva2F0YS10ZXN0LXZvbC0wMDEvdm9sdW1lMDAxLw=='],
  ['/a', 'L2E='],
  ['/ab', 'L2Fi'],
  ['/', 'Lw=='],
  // '>' and '?' bytes hit the alphabet's '-' and '_' (where standard base64 has '+' and '/').
  ['/?>?>', 'Lz8-Pz4='],
  ['/~~~', 'L35-fg=='],
  ['/var/lib/kubelet/pods/ü/vol 1', 'L3Zhci9saWIva3ViZWxldC9wb2RzL8O8L3ZvbCAx'],
  ['/data/日本', 'L2RhdGEv5pel5pys'],
];

test('directory names match the golden vectors (URL-safe base64 with padding)', () => {
  for (const [path, name] of GOLDEN) {
    assert.equal(encodeVolumeDirName(path), name, path);
    assert.equal(decodeVolumeDirName(name), path, name);
  }
});

test('a trailing slash is a different volume path', () => {
  assert.notEqual(encodeVolumeDirName('/x/y'), encodeVolumeDirName('/x/y/'));
});

test('the longest path that fits one directory entry is accepted, one byte more is refused', () => {
  const longest = `/${'p'.repeat(MAX_VOLUME_PATH_BYTES - 1)}`;
  const name = encodeVolumeDirName(longest);
  assert.equal(name.length, 252);
  assert.equal(decodeVolumeDirName(name), longest);
  assert.throws(() => encodeVolumeDirName(`${longest}q`), /190 bytes.*255-byte file name limit/);
  // Non-ASCII counts in bytes, not characters.
  assert.throws(() => encodeVolumeDirName(`/${'ü'.repeat(95)}`), /191 bytes/);
});

test('empty, relative and NUL-bearing paths are refused with what to change', () => {
  assert.throws(() => encodeVolumeDirName(''), /empty: give the absolute path/);
  assert.throws(() => encodeVolumeDirName('var/lib/x'), /not absolute/);
  assert.throws(() => encodeVolumeDirName('/a\0b'), /NUL/);
});

test('names Kata would not write do not decode', () => {
  for (const bad of ['', 'L2E', 'L2E=x', 'L2+h', 'L2/h', 'bm90LWFicw==' /* "not-abs" */, '.passvol-staging', 'L2F=' /* non-canonical */]) {
    assert.equal(decodeVolumeDirName(bad), undefined, bad);
  }
});

const absolutePath = fc
  .string({ unit: 'grapheme', maxLength: 60 })
  .map((s) => `/${s}`)
  .filter((p) => !p.includes('\0') && Buffer.byteLength(p) <= MAX_VOLUME_PATH_BYTES);

test('property: encode then decode returns the exact path', () => {
  fc.assert(
    fc.property(absolutePath, (p) => {
      const name = encodeVolumeDirName(p);
      assert.match(name, /^[A-Za-z0-9_=-]+$/);
      assert.equal(name.length % 4, 0);
      assert.equal(decodeVolumeDirName(name), p);
    }),
    { numRuns: 2000 },
  );
});

test('property: distinct paths get distinct names', () => {
  fc.assert(
    fc.property(absolutePath, absolutePath, (a, b) => {
      fc.pre(a !== b);
      assert.notEqual(encodeVolumeDirName(a), encodeVolumeDirName(b));
    }),
    { numRuns: 1000 },
  );
});
