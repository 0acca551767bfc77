import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPassvolError } from '../../common/errors.js';
import { parseSignal } from './lifecycle.js';

test('signals by name, short name or number, as kill(1) takes them', () => {
  assert.equal(parseSignal('SIGTERM'), 'SIGTERM');
  assert.equal(parseSignal('term'), 'SIGTERM');
  assert.equal(parseSignal('9'), 'SIGKILL');
  assert.equal(parseSignal('KILL'), 'SIGKILL');
  assert.throws(() => parseSignal('SIGFOO'), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT' && /SIGTERM/.test(e.message));
  assert.throws(() => parseSignal('64'), /unknown signal/);
});
