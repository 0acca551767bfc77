import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPassvolError } from '../../../common/errors.js';
import { ON_DELETE_POLICIES, decodeNasVolumeId, encodeNasVolumeId, parseNasVolumeId, requireNasVolumeId, type NasVolumeRef } from './nas-volume-id.js';

// Segments drawn with the two escaped characters, '=' and non-ASCII on purpose.
const segment = fc
  .stringOf(fc.constantFrom('a', 'Z', '0', '-', '_', '.', '#', '%', '=', ' ', 'ü', '日'), { minLength: 1, maxLength: 12 })
  .filter((s) => s !== '.' && s !== '..');
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => p.join('/'));
const ref: fc.Arbitrary<NasVolumeRef> = fc.record({
  server: fc.constantFrom('127.0.0.1', 'nas.example.com', '[fd00::1]', 'a', 'file-system-1.cn-hangzhou.nas.aliyuncs.com'),
  share: fc.oneof(fc.constant('/'), relPath.map((p) => `/${p}`)),
  subDir: fc.oneof(fc.constant(''), relPath),
  onDelete: fc.constantFrom(...ON_DELETE_POLICIES),
});

test('encode then decode gives the same volume, for any fields', () => {
  fc.assert(
    fc.property(ref, (r) => {
      const id = encodeNasVolumeId(r);
      assert.equal(id.split('#').length, 5, id);
      assert.deepEqual(parseNasVolumeId(id), r);
    }),
    { numRuns: 2000 },
  );
});

test('decoding never throws, and whatever decodes encodes back to the same id (one spelling per volume)', () => {
  // Real ids with a piece spliced in (so many still decode), and free-form strings.
  const piece = fc.constantFrom('#', '%23', '%25', '%2', '%', '/', '//', '..', '.', '\0', 'a', '/..', '#x');
  const spliced = fc.tuple(ref, piece, fc.nat()).map(([r, p, at]) => {
    const id = encodeNasVolumeId(r);
    const i = at % (id.length + 1);
    return id.slice(0, i) + p + id.slice(i);
  });
  const idLike = fc.oneof(spliced, fc.stringOf(fc.constantFrom('nas', '#', '%23', '%25', '%', '/', 'a', '..', 'delete', '\0'), { maxLength: 16 }));
  fc.assert(
    fc.property(idLike, (id) => {
      const r = parseNasVolumeId(id);
      if (r) assert.equal(encodeNasVolumeId(r), id);
    }),
    { numRuns: 5000 },
  );
});

test('a known id', () => {
  const id = encodeNasVolumeId({ server: '127.0.0.1', share: '/export', subDir: 'ns/pvc#1%', onDelete: 'archive' });
  assert.equal(id, 'nas#127.0.0.1#/export#ns/pvc%231%25#archive');
});

test('foreign and damaged ids are not volumes; requireNasVolumeId says why with NotFound', () => {
  const bad: [string, RegExp][] = [
    ['pvd-0123456789abcdef01234567', /not a NAS volume id/],
    ['127.0.0.1#/export#pvc-1', /not a NAS volume id/],
    ['nas#127.0.0.1#/export#pvc-1', /4 fields/],
    ['nas#127.0.0.1#/export#pvc-1#delete#x', /6 fields/],
    ['nas#127.0.0.1#export#pvc-1#delete', /share must be an absolute path/],
    ['nas#127.0.0.1#/export/#pvc-1#delete', /share must be a clean path/],
    ['nas#127.0.0.1#/export#../etc#delete', /subDir must be a clean relative path/],
    ['nas#127.0.0.1#/export#a/../../etc#delete', /subDir must be a clean relative path/],
    ['nas#127.0.0.1#/ex/../port#a#delete', /share must be a clean path/],
    ['nas#127.0.0.1#/export#/abs#delete', /subDir must be relative/],
    ['nas#127.0.0.1#/export#a\0b#delete', /subDir must not contain NUL/],
    ['nas#127.0.0.1#/export#a%2Fb#delete', /bad %-escape/],
    ['nas#127.0.0.1#/export#a#purge', /onDelete/],
    ['nas#bad host#/export#a#delete', /server must be a host name/],
    ['nas##/export#a#delete', /server must be a host name/],
  ];
  for (const [id, why] of bad) {
    assert.equal(parseNasVolumeId(id), undefined, id);
    const decoded = decodeNasVolumeId(id);
    assert.ok('problem' in decoded && why.test(decoded.problem), `${id}: ${JSON.stringify(decoded)}`);
    assert.throws(
      () => requireNasVolumeId(id),
      (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_NOT_FOUND',
    );
  }
});

test('encode refuses fields that could not be decoded', () => {
  assert.throws(() => encodeNasVolumeId({ server: '127.0.0.1', share: '/export', subDir: '../x', onDelete: 'delete' }));
  assert.throws(() => encodeNasVolumeId({ server: '127.0.0.1', share: 'export', subDir: 'x', onDelete: 'delete' }));
});

test('a decoded id never names a path outside its export', () => {
  fc.assert(
    fc.property(fc.tuple(ref, fc.constantFrom('..', '/..', '../', '%2e%2e', '\0'), fc.nat()), ([r, p, at]) => {
      const id = encodeNasVolumeId(r);
      const i = at % (id.length + 1);
      const got = parseNasVolumeId(id.slice(0, i) + p + id.slice(i));
      if (got) for (const part of [got.share, got.subDir]) assert.ok(!part.split('/').includes('..') && !part.includes('\0'), JSON.stringify(got));
    }),
    { numRuns: 3000 },
  );
});
