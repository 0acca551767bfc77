import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { marshalMountInfo, parseMountInfo, type MountInfo } from './mount-info.js';

const base = { 'volume-type': 'directvol', device: '/dev/loop7', fstype: 'ext4' };
const text = (o: unknown) => JSON.stringify(o);

test('a minimal record parses', () => {
  assert.deepEqual(parseMountInfo(text(base)), base);
});

test('unknown keys are kept (Kata tools write these files too)', () => {
  assert.equal((parseMountInfo(text({ ...base, extra: 1 })) as Record<string, unknown>).extra, 1);
});

test('null metadata and options are accepted, as Go accepts them', () => {
  assert.doesNotThrow(() => parseMountInfo(text({ ...base, metadata: null, options: null })));
});

const BAD: [string, unknown, RegExp][] = [
  ['not JSON', '{', /not valid JSON/],
  ['an array', [], /must be a JSON object/],
  ['missing volume-type', { device: 'd', fstype: 'ext4' }, /"volume-type" is required/],
  ['empty device', { ...base, device: '' }, /"device" must not be empty/],
  ['missing fstype', { 'volume-type': 'x', device: 'd' }, /"fstype" is required/],
  ['numeric fstype', { ...base, fstype: 4 }, /"fstype" must be a string/],
  ['metadata value not a string', { ...base, metadata: { fsGroup: 1000 } }, /every "metadata" value must be a string/],
  ['metadata not an object', { ...base, metadata: 'x' }, /"metadata" must be an object/],
  ['options not an array', { ...base, options: 'rw' }, /"options" must be an array/],
  ['option not a string', { ...base, options: [1] }, /every "options" entry must be a string/],
  ['bind option', { ...base, options: ['bind'] }, /option "bind" is not allowed: the guest would try to bind-mount/],
  ['rbind inside a list', { ...base, options: ['rw,rbind'] }, /option "rbind" is not allowed/],
];

for (const [name, input, message] of BAD) {
  test(`refused: ${name}`, () => {
    assert.throws(
      () => parseMountInfo(typeof input === 'string' ? input : text(input)),
      (e: Error & { code?: string }) => e.code === 'PV_ERR_INVALID_ARGUMENT' && message.test(e.message),
    );
  });
}

test('every problem is named in one message', () => {
  assert.throws(() => parseMountInfo(text({ device: '' })), /"volume-type" is required.*"device" must not be empty.*"fstype" is required/);
});

test('marshal matches what Go encoding/json writes for Kata MountInfo', () => {
  const info: MountInfo = {
    'volume-type': 'directvol',
    device: '/dev/loop7',
    fstype: 'ext4',
    metadata: { volumeId: 'v-1', fsGroup: '2000', 'a<b>&': 'x\u2028y' },
    options: ['rw', 'noatime'],
  };
  assert.equal(
    marshalMountInfo(info),
    '{"volume-type":"directvol","device":"/dev/loop7","fstype":"ext4",' +
      '"metadata":{"a\\u003cb\\u003e\\u0026":"x\\u2028y","fsGroup":"2000","volumeId":"v-1"},"options":["rw","noatime"]}',
  );
  assert.equal(marshalMountInfo({ ...base, metadata: {}, options: [] }), '{"volume-type":"directvol","device":"/dev/loop7","fstype":"ext4"}');
});

const safeString = fc.string({ minLength: 1, maxLength: 20 });
const mountInfoArb = fc.record({
  'volume-type': safeString,
  device: safeString,
  fstype: safeString,
  metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
  options: fc.array(fc.stringMatching(/^[a-z=0-9]{1,10}$/).filter((o) => o !== 'bind' && o !== 'rbind'), { maxLength: 4 }),
});

test('property: marshalled records parse back to the same values', () => {
  fc.assert(
    fc.property(mountInfoArb, (info) => {
      const back = parseMountInfo(marshalMountInfo(info));
      assert.equal(back['volume-type'], info['volume-type']);
      assert.equal(back.device, info.device);
      assert.deepEqual(back.metadata ?? {}, info.metadata);
      assert.deepEqual(back.options ?? [], info.options);
    }),
    { numRuns: 1000 },
  );
});

test('property: validation accepts exactly the records with the three fields non-empty strings', () => {
  fc.assert(
    fc.property(fc.record({ 'volume-type': fc.anything(), device: fc.anything(), fstype: fc.anything() }, { requiredKeys: [] }), (o) => {
      const ok = ['volume-type', 'device', 'fstype'].every((k) => typeof (o as Record<string, unknown>)[k] === 'string' && ((o as Record<string, string>)[k] ?? '').length > 0);
      let accepted = true;
      try {
        parseMountInfo(JSON.stringify(o));
      } catch {
        accepted = false;
      }
      assert.equal(accepted, ok);
    }),
    { numRuns: 1000 },
  );
});
