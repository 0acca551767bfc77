import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config.js';

test('in the guest the agent runs with no flags at all', () => {
  const c = parseConfig([], {});
  assert.equal(c.root, '');
  assert.equal(c.socket, undefined);
  assert.equal(c.portName, 'passvol.agent');
  assert.equal(c.sysBlock, '/sys/block');
});

test('test flags are checked', () => {
  assert.equal(parseConfig(['--root', '/tmp/x/', '--socket', '/tmp/a.sock'], {}).root, '/tmp/x');
  assert.throws(() => parseConfig(['--root', 'relative'], {}), /absolute path/);
});
