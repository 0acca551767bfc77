import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestMountOptions } from './guest-options.js';

test('record options reach the guest split, deduplicated, without host-only entries', () => {
  assert.deepEqual(guestMountOptions(['rw,noatime', 'nosuid', 'bind', 'nosuid', ' nodev '], false), ['rw', 'noatime', 'nosuid', 'nodev']);
  assert.deepEqual(guestMountOptions(undefined, false), []);
});

test('a read-only container mount turns rw into ro', () => {
  assert.deepEqual(guestMountOptions(['rw', 'nosuid', 'nodev'], true), ['nosuid', 'nodev', 'ro']);
  assert.deepEqual(guestMountOptions(['ro'], true), ['ro']);
});
