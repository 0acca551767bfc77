import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadShimConfig, parseGoFlags } from './containerd-shim-flags.js';

test("containerd's flag forms: -x v, --x v, -x=v, booleans alone, and the action", () => {
  const r = parseGoFlags(['-namespace', 'k8s.io', '--address', '/run/c.sock', '-publish-binary=/usr/bin/containerd', '-id', 'abc', '-debug', 'start']);
  assert.deepEqual(r.flags, { namespace: 'k8s.io', address: '/run/c.sock', 'publish-binary': '/usr/bin/containerd', id: 'abc', debug: true });
  assert.equal(r.action, 'start');
  assert.deepEqual(r.flagArgs, ['-namespace', 'k8s.io', '--address', '/run/c.sock', '-publish-binary=/usr/bin/containerd', '-id', 'abc', '-debug'], 'what the shim is started again with');
  assert.equal(parseGoFlags(['-id', 'start', 'start']).flags.id, 'start', 'a value that spells an action is a value');
  assert.throws(() => parseGoFlags(['-id']), /-id needs a value/);
});

test('the shim config: a file named in the environment, checked; none at all is the defaults', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-shimcfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'shim.json');
  writeFileSync(file, JSON.stringify({ runtimeRoot: '/run/x', memory: 1024 }));
  assert.deepEqual(loadShimConfig(undefined, { PASSVOL_SHIM_CONFIG: file }), { runtimeRoot: '/run/x', memory: 1024 });
  writeFileSync(file, JSON.stringify({ runtimRoot: '/run/x' }));
  assert.throws(() => loadShimConfig(file), /shim\.json: .*runtimRoot/);
  writeFileSync(file, '{');
  assert.throws(() => loadShimConfig(file), /shim\.json: /);
  assert.deepEqual(loadShimConfig(undefined, {}, '/nonexistent/shim.json'), {});
});
