import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseElapsed, parseFio, WORKLOADS } from './io-workloads.js';

const fioJson = (read: number, write: number) =>
  JSON.stringify({ 'fio version': 'fio-3.33', jobs: [{ job_runtime: 5000, read: { iops: read, bw: read * 4, total_ios: read * 5 }, write: { iops: write, bw: write * 4, total_ios: write * 5 } }] });

test('fio JSON is read after any notice fio prints first', () => {
  const job = parseFio(`fio: note: both iodepth >= 1 and synchronous I/O engine are selected\n${fioJson(1200, 0)}`);
  assert.equal(job.read.iops, 1200);
  assert.throws(() => parseFio('fio: failed to open file'), /no JSON/);
  assert.throws(() => parseFio('{"jobs": []}'), /not understood/);
});

test('each fio workload reports the side it measures, bandwidth in MiB/s', () => {
  const byId = Object.fromEntries(WORKLOADS.map((w) => [w.id, w]));
  assert.equal(byId['randread-qd16']!.parse(fioJson(5000, 0)), 5000);
  assert.equal(byId['randwrite-qd1']!.parse(fioJson(0, 700)), 700);
  assert.equal(byId['seqread-1m']!.parse(fioJson(512, 0)), 2); // bw 2048 KiB/s
  assert.equal(byId['fsync-loop']!.parse(fioJson(0, 300)), 300);
});

test('shell workloads time themselves between T0 and T1', () => {
  assert.equal(parseElapsed('noise\nT0 100.250000\nT1 101.750000\n'), 1.5);
  assert.throws(() => parseElapsed('T0 1.0\n'), /no timing/);
});

test('create is fio\'s job time, its start-up left out, plus the timed sync after it', () => {
  const create = WORKLOADS.find((w) => w.id === 'create')!;
  const job = JSON.stringify({ 'fio version': 'fio-3.33', jobs: [{ job_runtime: 1250, read: { iops: 0, bw: 0, total_ios: 0 }, write: { iops: 1600, bw: 6400, total_ios: 2000 } }] });
  assert.equal(create.parse(`${job}\nT0 10.000000\nT1 10.500000\n`), 1.75);
});

const missing = ['busybox', 'fio'].filter((tool) => !execFileSync('sh', ['-c', `command -v ${tool} || true`], { encoding: 'utf8' }).trim());

test('the small-file scripts run under busybox sh and print their timing', { skip: missing.length ? `not installed: ${missing.join(', ')} (scripts/setup.sh installs them)` : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-workload-'));
  try {
    const tar = join(dir, 'in.tar');
    writeFileSync(join(dir, 'a.txt'), 'a');
    execFileSync('tar', ['-cf', tar, '-C', dir, 'a.txt']);
    const params = { dir, fioSeconds: 1, fioFileMiB: 1, files: 20, tarball: tar, tarballFiles: 1 };
    for (const id of ['create', 'stat', 'delete', 'untar']) {
      const w = WORKLOADS.find((x) => x.id === id)!;
      const seconds = w.parse(execFileSync('busybox', ['sh', '-c', w.script(params)], { encoding: 'utf8' }));
      assert.ok(seconds >= 0 && seconds < 60, `${id}: ${seconds}`);
      if (id === 'create') {
        const made = readdirSync(join(dir, 'meta')).sort();
        assert.equal(made.length, 20, 'one file per count');
        assert.ok(made.every((f) => /^f\d+$/.test(f) && statSync(join(dir, 'meta', f)).size === 4096), `the names stat expects, 4 KiB each: ${made.join(' ')}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
