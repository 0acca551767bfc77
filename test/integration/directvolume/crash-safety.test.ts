// A writer killed with SIGKILL at random points never leaves a record that parses to anything but the old or
// the new value, and a restart cleans what the crash left in staging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordStore, STAGING_DIR } from '../../../src/directvolume/record-store.js';
import { scratchDir } from '../../helpers/temp-dir.js';

const WRITER = fileURLToPath(new URL('./fixtures/writer-loop.ts', import.meta.url));
const KILLS = 30;

async function runAndKill(root: string, mode: string, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, root, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  await new Promise((r) => setTimeout(r, delayMs));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function checkStore(root: string, allowAbsent: boolean): Promise<void> {
  const store = new RecordStore(root);
  const record = await store.find('/crash/volume');
  if (record === undefined) assert.ok(allowAbsent, 'record vanished although it was never removed');
  else assert.match(record.mountInfo.device, /^\/dev\/[AB]$/);
  for (const entry of await store.list()) assert.equal(entry.problem, undefined, `${entry.dirName}: ${entry.problem}`);
  await store.sweepStaging();
  assert.deepEqual(await readdir(join(root, STAGING_DIR)), [], 'staging left over after restart sweep');
}

test(`writer killed at ${KILLS} random points: the record is always the old or the new value`, async () => {
  const root = join(await scratchDir(), 'root');
  for (let i = 0; i < KILLS; i++) {
    await runAndKill(root, 'rewrite', Math.floor(Math.random() * 120));
    await checkStore(root, false);
  }
});

test(`writer killed at ${KILLS} random points while also removing: the record is absent, old or new`, async () => {
  const root = join(await scratchDir(), 'root');
  for (let i = 0; i < KILLS; i++) {
    await runAndKill(root, 'remove', Math.floor(Math.random() * 120));
    await checkStore(root, true);
  }
});
