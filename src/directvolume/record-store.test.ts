import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordStore, STAGING_DIR } from './record-store.js';
import { scratchDir } from '../../test/helpers/temp-dir.js';
import { snapshotTree } from '../../test/helpers/tree-snapshot.js';

const PATH = '/kubelet/kata-test-vol-001/volume001';
const DIR = 'L2t1YmVsZXQva2F0YS10ZXN0LXZvbC0wMDEvdm9sdW1lMDAx';
const INFO = '{"volume-type":"directvol","device":"/dev/loop7","fstype":"ext4","options":["rw"]}';

async function freshStore(): Promise<RecordStore> {
  return new RecordStore(join(await scratchDir(), 'root'));
}

test('add writes the caller bytes to mountInfo.json 0600 inside a 0700 directory named by the path', async () => {
  const store = await freshStore();
  const text = '{ "device":"/dev/loop7",  "fstype":"ext4", "volume-type":"directvol" }';
  await store.add(PATH, text);
  assert.equal(await readFile(join(store.root, DIR, 'mountInfo.json'), 'utf8'), text);
  assert.equal((await stat(join(store.root, DIR))).mode & 0o777, 0o700);
  assert.equal((await stat(join(store.root, DIR, 'mountInfo.json'))).mode & 0o777, 0o600);
  assert.equal((await stat(store.root)).mode & 0o777, 0o700);
  assert.deepEqual((await readdir(join(store.root, DIR))).sort(), ['mountInfo.json']);
});

test('an object is written as Kata marshals it', async () => {
  const store = await freshStore();
  await store.add(PATH, { 'volume-type': 'directvol', device: '/dev/loop7', fstype: 'ext4', options: ['rw'] });
  assert.equal(await readFile(join(store.root, DIR, 'mountInfo.json'), 'utf8'), INFO);
});

test('a second add replaces the record and keeps the sandbox binding', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  await store.recordSandbox(PATH, 'sandbox-a');
  const next = INFO.replace('loop7', 'loop8');
  const r = await store.add(PATH, next);
  assert.equal(r.mountInfo.device, '/dev/loop8');
  assert.equal(r.sandboxId, 'sandbox-a');
  assert.equal((await store.get(PATH)).raw, next);
});

test('remove deletes the record, and a missing record is not an error', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  await store.recordSandbox(PATH, 'sb1');
  assert.equal(await store.remove(PATH), true);
  assert.equal(await store.find(PATH), undefined);
  assert.equal(await store.remove(PATH), false);
  assert.deepEqual(await readdir(join(store.root, STAGING_DIR)), []);
});

test('bad input is refused and changes nothing on disk', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  const before = await snapshotTree(store.root);
  const cases: [() => Promise<unknown>, RegExp][] = [
    [() => store.add('relative/path', INFO), /not absolute/],
    [() => store.add('', INFO), /empty/],
    [() => store.add(PATH, '{"device":"/dev/x","fstype":"ext4"}'), /"volume-type" is required/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"","fstype":"ext4"}'), /"device" must not be empty/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"/d","fstype":""}'), /"fstype" must not be empty/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"/d","fstype":"ext4","metadata":{"a":1}}'), /metadata/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"/d","fstype":"ext4","options":"rw"}'), /options/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"/d","fstype":"ext4","options":["bind"]}'), /bind/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"/d","fstype":"ext4","options":["rw",7]}'), /options/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"/d","fstype":"ext4","metadata":["fsGroup"]}'), /metadata/],
    [() => store.add(PATH, '{"volume-type":"directvol","fstype":"ext4"}'), /"device" is required/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":"/d"}'), /"fstype" is required/],
    [() => store.add(PATH, '{"volume-type":1,"device":"/d","fstype":"ext4"}'), /volume-type/],
    [() => store.add(PATH, '{"volume-type":"directvol","device":["/d"],"fstype":"ext4"}'), /device/],
    [() => store.add(PATH, '[]'), /object/],
    [() => store.add(PATH, 'not json'), /not valid JSON/],
    [() => store.add(`/${'x'.repeat(300)}`, INFO), /file name limit/],
    [() => store.recordSandbox(PATH, '../escape'), /sandbox id/],
    [() => store.recordSandbox(PATH, 'mountInfo.json'), /sandbox id/],
    [() => store.recordSandbox('/not/recorded', 'sb'), /no direct-volume record/],
    [() => store.remove('rel'), /not absolute/],
  ];
  for (const [op, message] of cases) {
    await assert.rejects(op, message);
    assert.deepEqual(await snapshotTree(store.root), before, `disk changed after: ${message}`);
  }
});

test('a record directory holding unexpected entries is reported, not overwritten or deleted', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  await mkdir(join(store.root, DIR, 'someone-elses-dir'));
  const before = await snapshotTree(store.root);
  await assert.rejects(store.add(PATH, INFO), (e: Error & { code: string }) => e.code === 'PV_ERR_UNEXPECTED_CONTENT' && /someone-elses-dir/.test(e.message));
  await assert.rejects(store.remove(PATH), /someone-elses-dir.*nothing was changed/);
  assert.deepEqual(await snapshotTree(store.root), before);
  const listed = await store.list();
  assert.match(listed[0]?.problem ?? '', /unexpected entries: someone-elses-dir/);
});

test('a file where a record directory should be is reported', async () => {
  const store = await freshStore();
  await mkdir(store.root, { recursive: true });
  await writeFile(join(store.root, DIR), 'x');
  await assert.rejects(store.add(PATH, INFO), /not a directory/);
  assert.equal(await readFile(join(store.root, DIR), 'utf8'), 'x');
});

test('list reports corrupt and foreign entries instead of failing', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  await store.add('/good/two', INFO);
  await writeFile(join(store.root, 'L2dvb2QvdHdv', 'mountInfo.json'), '{"device":');
  await mkdir(join(store.root, 'not base64!'));
  await mkdir(join(store.root, 'L2VtcHR5')); // "/empty": a directory with no mountInfo.json
  const byName = new Map((await store.list()).map((e) => [e.dirName, e]));
  assert.equal(byName.get(DIR)?.record?.mountInfo.device, '/dev/loop7');
  assert.match(byName.get('L2dvb2QvdHdv')?.problem ?? '', /corrupt.*not valid JSON/);
  assert.match(byName.get('not base64!')?.problem ?? '', /not the URL-safe base64/);
  assert.equal(byName.get('L2VtcHR5')?.problem, 'no mountInfo.json');
  assert.equal(byName.has(STAGING_DIR), false);
  await assert.rejects(store.get('/good/two'), (e: Error & { code: string }) => e.code === 'PV_ERR_CORRUPT_RECORD');
});

test('one sandbox at a time: a second sandbox is refused until the first releases', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  await store.recordSandbox(PATH, 'sb-1');
  await store.recordSandbox(PATH, 'sb-1'); // idempotent
  assert.equal(await store.sandboxOf(PATH), 'sb-1');
  await assert.rejects(store.recordSandbox(PATH, 'sb-2'), /in use by sandbox sb-1/);
  await store.releaseSandbox(PATH, 'sb-1');
  await store.releaseSandbox(PATH, 'sb-1');
  await store.recordSandbox(PATH, 'sb-2');
  assert.equal((await store.get(PATH)).sandboxId, 'sb-2');
  const f = await stat(join(store.root, DIR, 'sb-2'));
  assert.equal(f.size, 0);
  assert.equal(f.mode & 0o777, 0o600);
});

test('concurrent sandbox claims: never two bindings', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  const ids = Array.from({ length: 12 }, (_, i) => `sb-${i}`);
  const results = await Promise.allSettled(ids.map((id) => store.recordSandbox(PATH, id)));
  const winners = results.filter((r) => r.status === 'fulfilled').length;
  assert.ok(winners <= 1, `${winners} sandboxes bound one volume`);
  const files = (await readdir(join(store.root, DIR))).filter((n) => n !== 'mountInfo.json');
  assert.equal(files.length, winners);
});

test('concurrent adds and removes of many volumes, and of one volume, leave a consistent store', async () => {
  const store = await freshStore();
  const paths = Array.from({ length: 20 }, (_, i) => `/vols/v${i}`);
  const infoFor = (p: string, n: number) => `{"volume-type":"directvol","device":"${p}-dev-${n}","fstype":"ext4"}`;
  const ops: Promise<unknown>[] = [];
  for (let round = 0; round < 5; round++) {
    for (const p of paths) ops.push(store.add(p, infoFor(p, round)));
    for (let i = 0; i < 10; i++) ops.push(store.add('/shared', infoFor('/shared', i)), store.remove('/shared'));
  }
  await Promise.all(ops);
  for (const p of paths) {
    const r = await store.get(p);
    assert.match(r.mountInfo.device, new RegExp(`^${p}-dev-[0-4]$`));
  }
  const shared = await store.find('/shared');
  if (shared) assert.match(shared.mountInfo.device, /^\/shared-dev-\d$/);
  for (const entry of await store.list()) assert.equal(entry.problem, undefined, entry.dirName);
  assert.deepEqual(await readdir(join(store.root, STAGING_DIR)), []);
});

test('sweepStaging removes the leftovers of a dead writer only', async () => {
  const store = await freshStore();
  await store.add(PATH, INFO);
  const staging = join(store.root, STAGING_DIR);
  await writeFile(join(staging, 'file-999999999-1-dead'), 'x');
  await writeFile(join(staging, `file-${process.pid}-1-live`), 'x');
  assert.equal(await store.sweepStaging(), 1);
  assert.deepEqual(await readdir(staging), [`file-${process.pid}-1-live`]);
});
