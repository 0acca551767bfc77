import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestNetwork } from './guest-contract.js';

test('guest networks: network 0 is QEMU\'s default user network; the others follow it, each with its own MAC', () => {
  assert.deepEqual(guestNetwork(0), { index: 0, prefix: '10.0.2', address: '10.0.2.15/24', mac: '52:54:00:70:76:01' });
  assert.deepEqual(guestNetwork(15), { index: 15, prefix: '10.0.17', address: '10.0.17.15/24', mac: '52:54:00:70:76:10' });
  assert.throws(() => guestNetwork(16), RangeError);
  assert.throws(() => guestNetwork(-1), RangeError);
});
