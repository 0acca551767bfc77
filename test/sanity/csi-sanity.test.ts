// The Kubernetes CSI conformance suite (csi-sanity, pinned) against a freshly started passvol driver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./run-csi-sanity.sh', import.meta.url));
const notRoot = process.getuid?.() !== 0 ? 'csi-sanity drives loop devices and mounts: needs root' : false;

function sanity(kind: string, ...flags: string[]): void {
  const r = spawnSync('bash', [SCRIPT, kind, ...flags], { encoding: 'utf8', timeout: 15 * 60_000 });
  const out = `${r.stdout}${r.stderr}`;
  const summary = /(\d+) Passed \| (\d+) Failed/.exec(out);
  assert.ok(summary, `csi-sanity printed no summary:\n${out.slice(-4000)}`);
  assert.equal(Number(summary[2]), 0, `csi-sanity failures:\n${out.match(/\[FAIL\].*/g)?.join("\n")}\n${out.slice(-3000)}`);
  assert.equal(r.status, 0, out.slice(-4000));
  assert.ok(Number(summary[1]) >= 70, `only ${summary[1]} specs passed`);
}

test('csi-sanity: disk driver, filesystem volumes', { skip: notRoot }, () => sanity('disk'));
test('csi-sanity: disk driver, raw block volumes', { skip: notRoot }, () => sanity('disk', '--csi.testvolumeaccesstype', 'block'));
