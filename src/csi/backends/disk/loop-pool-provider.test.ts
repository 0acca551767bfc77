import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopPoolProvider } from './loop-pool-provider.js';

test('start-up removes what dead writers left, by age: the pool is shared across PID namespaces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-pool-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const disks = join(dir, 'disks');
  mkdirSync(disks, { recursive: true });
  mkdirSync(join(dir, 'snapshots'));
  const old = (Date.now() - 3600_000) / 1000;
  const files = {
    'pvd-aaaaaaaaaaaaaaaaaaaaaaaa.img': old, // an image without metadata, long untouched: a failed create
    'pvd-bbbbbbbbbbbbbbbbbbbbbbbb.img': undefined, // the same, but just written: another process is creating it
    'pvd-cccccccccccccccccccccccc.img': old, // a disk with its metadata: kept however old
    'pvd-cccccccccccccccccccccccc.json': old,
    'pvd-dddddddddddddddddddddddd.img.tmp-1': old, // a clone copy whose writer is gone
    'pvd-eeeeeeeeeeeeeeeeeeeeeeee.img.tmp-1': undefined, // a clone copy in flight (pid 1 of another namespace)
    '.pvd-cccccccccccccccccccccccc.json.tmp-7-ab12cd34': old, // a metadata write that died
  };
  for (const [name, time] of Object.entries(files)) {
    writeFileSync(join(disks, name), '');
    if (time !== undefined) utimesSync(join(disks, name), time, time);
  }
  const exec = { run: async () => ({ stdout: '', stderr: '', code: 0 }) };
  await new LoopPoolProvider({ dir, nodeId: 'n1', exec }).init();
  assert.deepEqual(readdirSync(disks).sort(), ['pvd-bbbbbbbbbbbbbbbbbbbbbbbb.img', 'pvd-cccccccccccccccccccccccc.img', 'pvd-cccccccccccccccccccccccc.json', 'pvd-eeeeeeeeeeeeeeeeeeeeeeee.img.tmp-1']);
});

test('start-up thaws what a dead snapshot left frozen, and leaves a freeze whose owner still touches its note', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-pool-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const frozen = join(dir, 'frozen');
  mkdirSync(frozen, { recursive: true });
  const old = (Date.now() - 3600_000) / 1000;
  const notes: Record<string, [string, number | undefined]> = {
    '0123456789abcdef01234567.json': [JSON.stringify({ mountPoints: ['/kubelet/staging/dead'] }), old], // its freezer died
    '1111111111111111aaaaaaaa.json': [JSON.stringify({ mountPoints: ['/kubelet/staging/live'] }), undefined], // the other process is copying
    '.fedcba9876543210fedcba98.json.tmp-7-ab12cd34': ['{"mountPoints', old], // died writing the note: nothing was frozen
  };
  for (const [name, [text, time]] of Object.entries(notes)) {
    writeFileSync(join(frozen, name), text);
    if (time !== undefined) utimesSync(join(frozen, name), time, time);
  }
  const calls: string[] = [];
  const exec = { run: async (cmd: string, args: readonly string[]) => (calls.push(`${cmd} ${args.join(' ')}`), { stdout: '', stderr: '', code: 0 }) };
  const recovered: unknown[] = [];
  await new LoopPoolProvider({ dir, nodeId: 'n1', exec, onRecovered: (_what, details) => recovered.push(details) }).init();
  assert.deepEqual(calls.filter((c) => c.startsWith('fsfreeze')), ['fsfreeze --unfreeze /kubelet/staging/dead']);
  assert.deepEqual(readdirSync(frozen), ['1111111111111111aaaaaaaa.json']);
  assert.deepEqual(recovered, [{ mountPoints: ['/kubelet/staging/dead'] }]);
});

test('create is idempotent by name only for the same size, source and shaping parameters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-pool-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const exec = { run: async () => ({ stdout: '', stderr: '', code: 0 }) };
  const pool = new LoopPoolProvider({ dir, nodeId: 'n1', exec });
  await pool.init();
  const MiB = 2 ** 20;
  const params = { 'passvol.io/passthrough': 'true', 'passvol.io/passthrough-reason': 'StorageClass parameter passthrough=true', fstype: 'xfs' };
  const first = await pool.create({ name: 'v', capacityBytes: 320 * MiB, parameters: params });
  // The reason only explains: another wording is the same volume.
  assert.equal((await pool.create({ name: 'v', capacityBytes: 320 * MiB, parameters: { ...params, 'passvol.io/passthrough-reason': 'PVC annotation skip-hostmount=true' } })).id, first.id);
  for (const [other, what] of [
    [{ ...params, fstype: 'ext4' }, /fstype="xfs", not fstype="ext4"/],
    [{ fstype: 'xfs' }, /passvol.io\/passthrough="true", not passvol.io\/passthrough=""/],
    [{ ...params, 'passvol.io/mkfs-options': '-m crc=0' }, /passvol.io\/mkfs-options=""/],
  ] as const) {
    await assert.rejects(pool.create({ name: 'v', capacityBytes: 320 * MiB, parameters: other }), (e: Error & { code?: string }) => e.code === 'PV_ERR_ALREADY_EXISTS' && what.test(e.message) && /use another name/.test(e.message));
  }
});
