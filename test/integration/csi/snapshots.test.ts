// Snapshots and clones of the disk backend, checked by their contents, and DeleteSnapshot that can only
// ever delete snapshots. A disk mounted on the host is frozen for its snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csiFixture, provisionAndStage, publishFor } from '../../helpers/csi-fixture.js';
import { ext4LoopDisk, needsRoot } from '../../helpers/host-cleanup.js';
import { scratchDir } from '../../helpers/temp-dir.js';
import { systemExec } from '../../../src/common/exec.js';
import { LoopPoolProvider } from '../../../src/csi/backends/disk/loop-pool-provider.js';

test('a snapshot keeps what was written before it; a clone has everything; DeleteSnapshot never takes a volume', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const src = await provisionAndStage(f, 'pv-snap-src');
  const target = await publishFor(f, 'writer', 'pv-snap-src', src);
  // No sync: the snapshot freezes the mounted filesystem, which writes this out first.
  writeFileSync(join(target, 'before.txt'), 'before\n');
  const snap = ((await f.csi.controller.CreateSnapshot!({ source_volume_id: src.volumeId, name: 'snap-1' })) as { snapshot: { snapshot_id: string; ready_to_use: boolean } }).snapshot;
  assert.equal(snap.ready_to_use, true);
  writeFileSync(join(target, 'after.txt'), 'after\n'); // thawed: writes go on
  execFileSync('sync');

  // A volume id given to DeleteSnapshot is not a snapshot: nothing happens to the volume.
  await f.csi.controller.DeleteSnapshot!({ snapshot_id: src.volumeId });
  assert.equal(readFileSync(join(target, 'after.txt'), 'utf8'), 'after\n');
  const vols = (await f.csi.controller.ListVolumes!({})) as { entries: { volume: { volume_id: string } }[] };
  assert.ok(vols.entries.some((e) => e.volume.volume_id === src.volumeId), 'the source volume still exists');

  const read = async (name: string, source: object) => {
    const t = await publishFor(f, 'reader', name, await provisionAndStage(f, name, { contentSource: source }));
    const has = (file: string) => readFileSync(join(t, file), 'utf8').trim();
    const result = { before: has('before.txt'), after: (() => { try { return has('after.txt'); } catch { return 'absent'; } })() };
    return result;
  };
  assert.deepEqual(await read('pv-from-snap', { snapshot: { snapshot_id: snap.snapshot_id } }), { before: 'before', after: 'absent' });
  assert.deepEqual(await read('pv-clone', { volume: { volume_id: src.volumeId } }), { before: 'before', after: 'after' });

  await f.csi.controller.DeleteSnapshot!({ snapshot_id: snap.snapshot_id });
  await f.csi.controller.DeleteSnapshot!({ snapshot_id: snap.snapshot_id });
  const snaps = (await f.csi.controller.ListSnapshots!({})) as { entries: unknown[] };
  assert.deepEqual(snaps.entries, []);
});

test('a filesystem a killed snapshot left frozen is thawed when the pool starts again', { skip: needsRoot }, async () => {
  const dir = await scratchDir();
  const { dev } = ext4LoopDisk(dir, 32);
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', [dev, mnt]);
  try {
    // What a driver killed mid-copy leaves: the filesystem frozen, and its note, untouched since.
    execFileSync('fsfreeze', ['--freeze', mnt]);
    const pool = join(dir, 'pool');
    mkdirSync(join(pool, 'frozen'), { recursive: true });
    const note = join(pool, 'frozen', '0123456789abcdef01234567.json');
    writeFileSync(note, JSON.stringify({ mountPoints: [mnt] }));
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(note, old, old);
    await new LoopPoolProvider({ dir: pool, nodeId: 'n1', exec: systemExec }).init();
    // Thawed: unfreezing again says it is not frozen, and a write goes through.
    assert.throws(() => execFileSync('fsfreeze', ['--unfreeze', mnt], { stdio: 'pipe' }), /Invalid argument/);
    writeFileSync(join(mnt, 'after-thaw'), 'ok');
    assert.deepEqual(readdirSync(join(pool, 'frozen')), []);
  } finally {
    spawnSync('fsfreeze', ['--unfreeze', mnt]);
    execFileSync('umount', [mnt]);
    execFileSync('losetup', ['-d', dev]);
  }
});

test('two snapshots of one mounted disk at once: the second is ABORTED (retry), never a second freeze, none left frozen', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const src = await provisionAndStage(f, 'pv-snap-twice');
  const target = await publishFor(f, 'writer', 'pv-snap-twice', src);
  writeFileSync(join(target, 'data.txt'), 'data\n');
  const create = (name: string) => f.csi.controller.CreateSnapshot!({ source_volume_id: src.volumeId, name }) as Promise<{ snapshot: { ready_to_use: boolean } }>;
  const names = ['snap-a', 'snap-b'];
  const results = await Promise.allSettled(names.map(create));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const refused = results.findIndex((r) => r.status === 'rejected');
  assert.equal((results[refused] as PromiseRejectedResult).reason.code, 10, 'ABORTED: one operation per volume at a time');
  assert.equal((await create(names[refused]!)).snapshot.ready_to_use, true, 'the retry succeeds');
  writeFileSync(join(target, 'after.txt'), 'thawed\n'); // no freeze is left behind
  assert.throws(() => execFileSync('fsfreeze', ['--unfreeze', target], { stdio: 'pipe' }), /Invalid argument/);
});
