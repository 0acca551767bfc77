// `passvol nas-server` as an operator runs it: it serves the folder, says what the StorageClass and the
// driver need, and stops the server it started on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsRoot } from '../../helpers/host-cleanup.js';
import { lockHost, unlockHost } from '../../helpers/nfs-server.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

test('nas-server serves until SIGTERM, then stops its NFS server', { skip: needsRoot, timeout: 120_000 }, async () => {
  await lockHost(300_000);
  const root = mkdtempSync(join(tmpdir(), 'passvol-nas-server-'));
  after(async () => {
    rmSync(root, { recursive: true, force: true });
    await unlockHost();
  });
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'nas-server', '--export', join(root, 'export'), '--state', join(root, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 600 && !out.includes('--nas-local-path'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /StorageClass parameters: server: 127\.0\.0\.1, share: \/export/);
  assert.match(out, new RegExp(`--nas-local-path 127\\.0\\.0\\.1:/export=${join(root, 'export')}`));
  assert.equal(await listening(2049), true, 'NFS is served');
  assert.equal(child.exitCode, null, 'stays in the foreground');
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(await listening(2049), false, 'the server it started is stopped');
});
