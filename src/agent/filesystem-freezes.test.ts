import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { AgentError } from '../protocol/index.js';
import { FilesystemFreezes } from './filesystem-freezes.js';
import type { RunCommand } from './run-command.js';

/** fsfreeze as the kernel answers it: freezing twice is EBUSY, thawing what is not frozen EINVAL. */
function fakeFsfreeze() {
  const frozen = new Set<string>();
  const calls: string[] = [];
  const run: RunCommand = async (cmd, args) => {
    const [flag, mountPoint = ''] = args;
    calls.push(`${cmd} ${args.join(' ')}`);
    if (flag === '--freeze') {
      if (frozen.has(mountPoint)) throw new AgentError('FAILED_PRECONDITION', 'fsfreeze: Device or resource busy');
      frozen.add(mountPoint);
    } else if (!frozen.delete(mountPoint)) throw new AgentError('INTERNAL', 'fsfreeze: Invalid argument');
    return { stdout: '', stderr: '' };
  };
  return { run, frozen, calls };
}

const log = pino({ level: 'silent' });

test('a freeze thawed within its lease held throughout; a second freeze of it is refused meanwhile', async () => {
  const fs = fakeFsfreeze();
  const freezes = new FilesystemFreezes(fs.run, log);
  await freezes.freeze('/vol/a', 5_000);
  assert.ok(freezes.isFrozen('/vol/a') && fs.frozen.has('/vol/a'));
  await assert.rejects(freezes.freeze('/vol/a', 5_000), /already frozen/);
  assert.equal(await freezes.thaw('/vol/a'), true);
  assert.equal(fs.frozen.size, 0);
  assert.equal(freezes.isFrozen('/vol/a'), false);
});

test('the lease thaws by itself, and the late thaw says the freeze did not hold', async () => {
  const fs = fakeFsfreeze();
  const freezes = new FilesystemFreezes(fs.run, log);
  await freezes.freeze('/vol/a', 100);
  await sleep(250);
  assert.equal(fs.frozen.size, 0, 'thawed when the lease ran out');
  assert.equal(await freezes.thaw('/vol/a'), false);
  // A new freeze afterwards starts clean.
  await freezes.freeze('/vol/a', 5_000);
  assert.equal(await freezes.thaw('/vol/a'), true);
});

test('thawing what this agent never froze frees it but vouches for nothing', async () => {
  const fs = fakeFsfreeze();
  fs.frozen.add('/vol/b'); // left by an agent that died
  const freezes = new FilesystemFreezes(fs.run, log);
  assert.equal(await freezes.thaw('/vol/b'), false);
  assert.equal(fs.frozen.size, 0);
  assert.equal(await freezes.thaw('/vol/c'), false, 'not frozen at all: EINVAL counts as thawed');
});

test('a freeze that fails is not counted, and leaves a freeze it did not make alone', async () => {
  const fs = fakeFsfreeze();
  fs.frozen.add('/vol/d'); // frozen by someone else: the kernel answers busy
  const freezes = new FilesystemFreezes(fs.run, log);
  await assert.rejects(freezes.freeze('/vol/d', 5_000), /busy/);
  assert.equal(freezes.isFrozen('/vol/d'), false);
  assert.ok(fs.frozen.has('/vol/d'), 'the other freeze is left alone');
});

test('a renewed lease runs from the renewal; a lease that ran out is not revived', async () => {
  const fs = fakeFsfreeze();
  const freezes = new FilesystemFreezes(fs.run, log);
  await freezes.freeze('/vol/e', 200);
  await sleep(120);
  freezes.renew('/vol/e', 200);
  await sleep(120);
  assert.ok(fs.frozen.has('/vol/e'), 'still frozen 240 ms after a 200 ms freeze, thanks to the renewal');
  assert.equal(await freezes.thaw('/vol/e'), true);
  await freezes.freeze('/vol/e', 100);
  await sleep(250);
  assert.throws(() => freezes.renew('/vol/e', 5_000), /not frozen any more \(its lease ran out\)/);
  assert.equal(await freezes.thaw('/vol/e'), false);
});
