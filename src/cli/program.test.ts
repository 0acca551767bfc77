import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from './program.js';

const names = async (wanted: string | undefined) => (await buildProgram(wanted)).commands.map((c) => c.name());

test('a known command loads only its own code; help or an unknown name loads every command', async () => {
  assert.deepEqual(await names('csi'), ['csi']);
  assert.deepEqual(await names('state'), ['create', 'start', 'state', 'kill', 'exec', 'list', 'delete', 'shim']);
  const all = await names(undefined);
  assert.deepEqual(await names('frob'), all);
  assert.deepEqual(await names('constructor'), all, 'not a command, whatever objects inherit');
  for (const name of ['direct-volume', 'demo', 'csi', 'bench', 'gc', 'image', 'run', 'nas-server', 'create', 'shim']) assert.ok(all.includes(name), name);
});
