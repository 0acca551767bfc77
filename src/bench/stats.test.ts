import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantile, summarize } from './stats.js';

test('quantiles interpolate between ranks', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([5], 0.99), 5);
  const s = summarize(Array.from({ length: 101 }, (_, i) => 100 - i));
  assert.deepEqual([s.median, s.p90, s.p99, s.min, s.max], [50, 90, 99, 0, 100]);
});
