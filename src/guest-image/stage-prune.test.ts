import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneStages } from './stage-prune.js';

test('stages no manifest names are removed once they are an hour old; named and fresh ones stay', async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-prune-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const old = (Date.now() - 2 * 3600_000) / 1000;
  for (const d of ['agent-disk-aaa', 'agent-disk-bbb', 'kernel-ccc', 'modules-ddd', 'agent-disk-eee', 'not-a-stage']) {
    mkdirSync(join(root, d));
    if (d !== 'agent-disk-eee') utimesSync(join(root, d), old, old);
  }
  // Manifests hold whole hashes; folders are named by a prefix of them.
  writeFileSync(join(root, 'manifest.json'), JSON.stringify({ stages: { 'agent-disk': 'aaa0123', kernel: 'ccc4567' } }));
  writeFileSync(join(root, 'manifest-test.json'), JSON.stringify({ stages: { modules: 'ddd89ab' } }));
  assert.deepEqual(await pruneStages(root), ['agent-disk-bbb']);
  assert.deepEqual(readdirSync(root).sort(), ['agent-disk-aaa', 'agent-disk-eee', 'kernel-ccc', 'manifest-test.json', 'manifest.json', 'modules-ddd', 'not-a-stage']);
});
