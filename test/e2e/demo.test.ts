// The demo is the most complete smoke test: every check it prints must pass, and it must leave nothing
// mounted, attached or running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { runCli } from '../helpers/run-cli.js';

const skip = process.getuid?.() !== 0 ? 'the demo attaches loop devices, mounts and runs an NFS server: needs root' : false;

test('passvol demo --json: every check passes, nothing left behind', { skip }, async () => {
  const r = await runCli(['demo', '--json']);
  // stdout is JSON lines only: one per check, a step that failed included; the summary goes to stderr.
  const checks = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; expected: string; seen: string; pass: boolean });
  assert.ok(checks.length >= 14, `only ${checks.length} checks:\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(checks.filter((c) => !c.pass), [], r.stderr);
  assert.match(r.stderr, new RegExp(`^${checks.length} passed, 0 failed$`, 'm'));
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), /passvol-demo-/);
  assert.doesNotMatch(execFileSync('losetup', ['--list'], { encoding: 'utf8' }), /passvol-demo-/);
});
