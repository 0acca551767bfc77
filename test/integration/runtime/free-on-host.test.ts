// The seeds' step 4 on real loop devices: before a disk goes to a guest, a mount of it on the host is undone,
// and anything else holding it (here, another process with it open exclusively) gets a clear refusal.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/logger.js';
import { systemExec } from '../../../src/common/exec.js';
import { RecordStore } from '../../../src/directvolume/index.js';
import { SandboxDirs } from '../../../src/runtime/sandbox/sandbox-dir.js';
import { VolumeBinding } from '../../../src/runtime/volumes/volume-binding.js';
import { ext4LoopDisk, needsRoot, undoMountsAndLoops } from '../../helpers/host-cleanup.js';
import { scratchDir } from '../../helpers/temp-dir.js';

const skip = needsRoot;

test('a mount on the host is undone; a device held exclusively elsewhere, or not a block device, is refused', { skip }, async () => {
  const dir = await scratchDir();
  after(() => undoMountsAndLoops(dir));
  const binding = new VolumeBinding(new RecordStore(join(dir, 'records')), new SandboxDirs(join(dir, 'sandboxes')), systemExec, createLogger({ level: 'silent' }));
  const { dev } = ext4LoopDisk(dir);

  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', [dev, mnt]);
  await binding.freeOnHost(dev);
  assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(`${dev} `), 'the host mount is gone');

  // Another process opens it exclusively (as device-mapper, md or a mount in another namespace would hold it).
  const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(dev)}, require('fs').constants.O_RDONLY | require('fs').constants.O_EXCL); console.log('held'); setTimeout(() => {}, 60000)`]);
  after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  await assert.rejects(binding.freeOnHost(dev), (e: Error & { code?: string }) => e.code === 'PV_ERR_FAILED_PRECONDITION' && /is held on the host by something else/.test(e.message));
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  await binding.freeOnHost(dev);

  const file = join(dir, 'plain.img');
  writeFileSync(file, '');
  await assert.rejects(binding.freeOnHost(file), /is not a block device/);
  await assert.rejects(binding.freeOnHost(join(dir, 'missing')), /does not exist on this host/);
});
