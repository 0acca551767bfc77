// Snapshots and clones of the disk backend, checked by their contents, and DeleteSnapshot that can only
// ever delete snapshots. A disk mounted on the host, or held by a sandbox, is frozen for its snapshot and
// for a clone, and a clone holds its source volume's lock.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordStore } from '../../../src/directvolume/index.js';
import { GRPC, failsWith } from '../../helpers/csi-client.js';
import { MiB, csiFixture, mountCap, provisionAndStage, publishFor } from '../../helpers/csi-fixture.js';
import { ext4LoopDisk, needsRoot } from '../../helpers/host-cleanup.js';
import { scratchDir } from '../../helpers/temp-dir.js';
import { systemExec } from '../../../src/common/exec.js';
import { LoopPoolProvider, diskIdFor } from '../../../src/csi/backends/disk/loop-pool-provider.js';
import { startUnixHttpServer } from '../../helpers/unix-http-server.js';

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

test('a clone of a disk mounted on the host is copied with its filesystem frozen: it holds what was written, unsynced, before it', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const src = await provisionAndStage(f, 'pv-clone-live');
  const target = await publishFor(f, 'writer', 'pv-clone-live', src);
  // No sync: only the freeze writes this out before the image is copied (a live copy misses it).
  writeFileSync(join(target, 'unsynced.txt'), 'written before the clone\n');
  const clone = await provisionAndStage(f, 'pv-clone-of-live', { contentSource: { volume: { volume_id: src.volumeId } } });
  const t = await publishFor(f, 'reader', 'pv-clone-of-live', clone);
  assert.equal(readFileSync(join(t, 'unsynced.txt'), 'utf8'), 'written before the clone\n');
  writeFileSync(join(target, 'after.txt'), 'thawed\n'); // the source's writers go on
  assert.throws(() => execFileSync('fsfreeze', ['--unfreeze', target], { stdio: 'pipe' }), /Invalid argument/, 'nothing left frozen');
  assert.deepEqual(readdirSync(join(f.l.pool, 'frozen')), [], 'the freeze note is gone');
});

/** A passed-through disk a sandbox holds (its record bound to the sandbox), and that sandbox's monitor socket. */
async function inSandbox(f: Awaited<ReturnType<typeof csiFixture>>, name: string, sandboxId: string, onFreeze: () => Promise<void> = async () => undefined) {
  const v = await provisionAndStage(f, name, { parameters: { passthrough: 'true' } });
  const target = await publishFor(f, 'sandboxed', name, v);
  await new RecordStore(f.l.directVolumes).recordSandbox(target, sandboxId);
  const calls: string[] = [];
  const images = () => readdirSync(join(f.l.pool, 'disks')).filter((n) => n.includes('.img')).sort();
  const monitor = await startUnixHttpServer(join(f.l.goShims, sandboxId, 'shim-monitor.sock'), (r, res) => {
    // What the pool holds when the guest is asked: the copy is made between the freeze and the thaw.
    calls.push(`${r.url} ${JSON.parse(r.body).VolumePath} images=${images().length}`);
    if (r.url === '/direct-volume/thaw') res.end('{"held_throughout":true}');
    else void onFreeze().then(() => res.end('{}'));
  });
  after(() => monitor.close());
  return { v, calls };
}

test('a clone of a disk passed through to a running sandbox is copied with the filesystem frozen in the guest', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  const { v, calls } = await inSandbox(f, 'pv-clone-guest', 'sandbox-c1');
  await f.csi.controller.CreateVolume!({ name: 'pv-clone-of-guest', capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [mountCap()], parameters: {}, volume_content_source: { volume: { volume_id: v.volumeId } } });
  // Frozen with one image in the pool (the source), thawed with the copy beside it (not yet renamed into place).
  assert.deepEqual(calls, [`/direct-volume/freeze ${v.device} images=1`, `/direct-volume/thaw ${v.device} images=2`]);
  assert.ok(readdirSync(join(f.l.pool, 'disks')).includes(`${diskIdFor('pv-clone-of-guest')}.img`));
});

test('a clone holds its source volume\'s lock: an operation on the source meanwhile, or a clone during one, answers ABORTED at once', { skip: needsRoot, timeout: 30_000 }, async () => {
  const f = await csiFixture();
  let hold: (() => Promise<void>) | undefined;
  const { v } = await inSandbox(f, 'pv-clone-locked', 'sandbox-c2', () => hold?.() ?? Promise.resolve());
  /** Holds the guest's answer to the next freeze: resolves once the freeze is asked for, with what lets it answer. */
  const holdNextFreeze = () =>
    new Promise<() => void>((asked) => {
      hold = () => new Promise<void>((answer) => ((hold = undefined), asked(answer)));
    });
  const cloneOf = (name: string) =>
    f.csi.controller.CreateVolume!({ name, capacity_range: { required_bytes: 32 * MiB }, volume_capabilities: [mountCap()], parameters: {}, volume_content_source: { volume: { volume_id: v.volumeId } } });

  // A clone in flight (the guest has not answered its freeze yet): the source's other operations are refused.
  let freeze = holdNextFreeze();
  const clone = cloneOf('pv-clone-locked-a');
  let answer = await freeze;
  await failsWith(f.csi.controller.CreateSnapshot!({ source_volume_id: v.volumeId, name: 'snap-during-clone' }), GRPC.ABORTED);
  await failsWith(f.csi.controller.ControllerExpandVolume!({ volume_id: v.volumeId, capacity_range: { required_bytes: 64 * MiB } }), GRPC.ABORTED);
  await failsWith(cloneOf('pv-clone-locked-b'), GRPC.ABORTED);
  answer();
  await clone;

  // A snapshot of the source in flight: a clone of it is refused, and goes through when retried.
  freeze = holdNextFreeze();
  const snapshot = f.csi.controller.CreateSnapshot!({ source_volume_id: v.volumeId, name: 'snap-first' });
  answer = await freeze;
  assert.match(await failsWith(cloneOf('pv-clone-locked-c'), GRPC.ABORTED), new RegExp(`operation on ${v.volumeId} is already in progress`));
  answer();
  await snapshot;
  await cloneOf('pv-clone-locked-c');
});
