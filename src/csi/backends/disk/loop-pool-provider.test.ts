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

test('start-up thaws what a driver killed mid-snapshot left frozen, from the note it wrote before freezing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-pool-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'frozen'), { recursive: true });
  writeFileSync(join(dir, 'frozen', '0123456789abcdef01234567.json'), JSON.stringify({ mountPoints: ['/var/lib/kubelet/plugins/x/staging/a'] }));
  writeFileSync(join(dir, 'frozen', '.fedcba9876543210fedcba98.json.tmp-7-ab12cd34'), '{"mountPoints'); // died writing the note: nothing frozen
  writeFileSync(join(dir, 'frozen', 'aaaaaaaaaaaaaaaaaaaaaaaa.json'), 'not json'); // not ours to act on
  const calls: string[] = [];
  const exec = { run: async (cmd: string, args: readonly string[]) => (calls.push(`${cmd} ${args.join(' ')}`), { stdout: '', stderr: '', code: 0 }) };
  await new LoopPoolProvider({ dir, nodeId: 'n1', exec }).init();
  assert.deepEqual(calls.filter((c) => c.startsWith('fsfreeze')), ['fsfreeze --unfreeze /var/lib/kubelet/plugins/x/staging/a']);
  assert.deepEqual(readdirSync(join(dir, 'frozen')), []);
});
