import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize } from './size.js';

test('sizes in bytes and quantities', () => {
  assert.equal(parseSize('1073741824'), 1073741824);
  assert.equal(parseSize('8Gi'), 8 * 2 ** 30);
  assert.equal(parseSize('500M'), 500e6);
  assert.equal(parseSize('1.5Gi'), 1.5 * 2 ** 30);
  assert.equal(parseSize('64Ki'), 65536);
});

test('bad sizes say what form to use', () => {
  for (const bad of ['', 'x', '-1', '0', '1.5', '8Xi', '1e3', '9007199254740993']) {
    assert.throws(() => parseSize(bad), /size ".*" (is not understood|must come to a positive whole number)/, bad);
  }
});
