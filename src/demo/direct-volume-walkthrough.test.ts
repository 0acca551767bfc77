import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoReport } from './demo-report.js';
import { directVolumeWalkthrough, shellWord } from './direct-volume-walkthrough.js';

/** The CLI from source, as `npm run passvol` runs it. */
const SOURCE_CLI = [process.execPath, '--import', 'tsx', fileURLToPath(new URL('../cli/main.ts', import.meta.url))];

test('the walkthrough runs the real direct-volume CLI, shows each command as typed, and every check passes', async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-dv-walkthrough-test-'));
  try {
    let out = '';
    const report = new DemoReport(false, { write: (t: string) => (out += t) });
    await directVolumeWalkthrough(report, root, SOURCE_CLI);
    assert.deepEqual(report.checks.filter((c) => !c.pass), [], out);
    assert.equal(report.checks.length, 9, out);
    const typed = out.split('\n').filter((l) => l.startsWith('    $ passvol ')).map((l) => l.trim().split(' ').slice(2, 4).join(' '));
    assert.deepEqual(typed, ['direct-volume add', 'direct-volume add', 'direct-volume list', 'direct-volume inspect', 'direct-volume remove', 'direct-volume remove']);
    assert.match(out, new RegExp(`\\$ passvol direct-volume add --root ${join(root, 'direct-volumes')} --volume-path /var/lib/kubelet/pods/0b7e-demo/volumes/kubernetes.io~csi/pvc-demo/mount --mount-info '\\{"volume-type":"directvol"`));
    assert.match(out, /passvol: .*bind/, 'the refusal the CLI printed is shown');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('shellWord quotes what a shell would split or expand', () => {
  assert.equal(shellWord('/a/b~c'), '/a/b~c');
  assert.equal(shellWord('{"a":1}'), `'{"a":1}'`);
  assert.equal(shellWord("it's"), `'it'\\''s'`);
});
