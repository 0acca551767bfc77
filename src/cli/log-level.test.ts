import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from './program.js';
import { parseDriverConfig } from '../csi/driver-config.js';

const allCommands = (c: Command): Command[] => [c, ...c.commands.flatMap(allCommands)];

test('--log-level has no commander default anywhere, so $PASSVOL_LOG_LEVEL applies when it is not given', async () => {
  const withFlag = allCommands(await buildProgram(undefined)).flatMap((c) => c.options.filter((o) => o.long === '--log-level').map((o) => ({ cmd: c.name(), o })));
  assert.ok(withFlag.length >= 5, withFlag.map((f) => f.cmd).join(', '));
  for (const { cmd, o } of withFlag) {
    assert.equal(o.defaultValue, undefined, `${cmd} --log-level`);
    assert.match(o.description, /default: \$PASSVOL_LOG_LEVEL, else "(info|warn)"/, `${cmd} --log-level help`);
  }
});

test('csi serve: the driver config leaves the level unset when the flag is not given', () => {
  const base = { driver: 'disk', endpoint: 'unix:///tmp/x.sock', nodeId: 'n1' };
  assert.equal(parseDriverConfig(base).logLevel, undefined);
  assert.equal(parseDriverConfig({ ...base, logLevel: 'debug' }).logLevel, 'debug');
});
