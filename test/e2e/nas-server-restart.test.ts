// A passed-through NAS volume outlives a restart of its NFS server, as a NAS fail-over or maintenance
// restart would be in production: a write the container makes while the server is down waits (hard mount)
// and completes once the server is back, over NFSv4.1 (the guest reclaims its state in the server's grace
// period) and NFSv3 (it reconnects). Each guest connection to a forward is its own host connection, so
// the guest sees the server's connection end and connects again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RecordStore } from '../../src/directvolume/index.js';
import { readBundle } from '../../src/runtime/oci/bundle.js';
import { Sandbox } from '../../src/runtime/sandbox/sandbox.js';
import { runtimeDeps } from '../../src/cli/runtime-setup.js';
import { startTestNfsServer } from '../helpers/nfs-server.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { sandboxSkip } from '../helpers/sandbox-fixture.js';

test('a passed-through NAS volume survives a restart of its NFS server: writes made while it is down complete', { skip: sandboxSkip, timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-nas-restart-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const nfs = await startTestNfsServer();
  const dv = join(root, 'dv');
  const records = new RecordStore(dv);
  const deps = await runtimeDeps({ root: dv, runtimeRoot: join(root, 'sandboxes'), goShimRoot: join(root, 'sbs') }, pino({ level: 'warn' }));
  const mounts = [];
  for (const [name, vers] of [['v4', '4.1'], ['v3', '3']] as const) {
    const target = join(root, name);
    mkdirSync(target);
    mkdirSync(join(nfs.exportDir, name));
    await records.add(target, { 'volume-type': 'nfs', device: `${nfs.info.server}:${nfs.info.share}/${name}`, fstype: vers === '3' ? 'nfs' : 'nfs4', options: [`vers=${vers}`, 'rw', 'nosuid', 'nodev'] });
    mounts.push({ destination: `/${name}`, source: target });
  }
  const sb = await Sandbox.create('nas-restart', await readBundle(writeBundle(join(root, 'bundle'), ['/bin/sleep', '600'], mounts)), deps);
  try {
    await sb.start(() => undefined);
    assert.equal((await sb.exec(['/bin/sh', '-c', 'echo before > /v4/before && echo before > /v3/before && cat /v4/before /v3/before'])).stdout, 'before\nbefore\n');

    let during: Promise<{ exitCode: number; stdout: string }> | undefined;
    await nfs.restart(async () => {
      // The server is down: the container's writes wait for it (hard mounts), they do not fail.
      during = sb.exec(['/bin/sh', '-c', 'echo during > /v4/during && echo during > /v3/during && cat /v4/before /v3/during']);
      await sleep(3000);
      assert.equal(existsSync(join(nfs.exportDir, 'v3/during')), false, 'the write waits while the server is down');
    });
    const r = await Promise.race([during, sleep(180_000, undefined, { ref: false }).then(() => assert.fail('the writes made while the server was down did not complete within 180 s of its restart'))]);
    assert.deepEqual({ exitCode: r?.exitCode, stdout: r?.stdout }, { exitCode: 0, stdout: 'before\nduring\n' });
    for (const name of ['v4', 'v3']) assert.equal(readFileSync(join(nfs.exportDir, name, 'during'), 'utf8'), 'during\n');
    // And it goes on working.
    assert.equal((await sb.exec(['/bin/sh', '-c', 'echo after > /v4/after && cat /v4/after'])).stdout, 'after\n');
  } finally {
    await sb.destroy();
  }
  // The relays are found by the sandbox folder in their argv (their slots), as QEMU and virtiofsd are;
  // a relay ends when its guest connection does.
  const left = () => spawnSync('pgrep', ['-af', root], { encoding: 'utf8' }).stdout.trim();
  for (let i = 0; i < 50 && left() !== ''; i++) await sleep(100);
  assert.equal(left(), '', 'no VM, helper or relay left');
});
