import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DemoReport, runSteps, type DemoCheck } from './demo-report.js';
import { CleanupStack } from './cleanup-stack.js';

function capture(json: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const report = new DemoReport(json, { write: (t: string) => out.push(t) }, { write: (t: string) => err.push(t) });
  return { report, out: () => out.join(''), err: () => err.join('') };
}

const parseLines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as DemoCheck);

test('--json: a step that throws is a failing check named after it; cleanup still runs; stdout stays JSON lines', async () => {
  const { report, out, err } = capture(true);
  const cleaned: string[] = [];
  const cleanup = new CleanupStack();
  await runSteps(report, cleanup, 'Clean up', async () => {
    report.step('Provision');
    cleanup.push('release', () => cleaned.push('release'));
    report.check('provisioned', 'yes', 'yes');
    report.step('Run the sandbox');
    cleanup.push('stop the node', () => {
      cleaned.push('stop the node');
      throw new Error('driver would not stop');
    });
    throw new Error('sandbox create failed: no KVM');
  });
  report.summary();
  assert.deepEqual(cleaned, ['stop the node', 'release']);
  assert.deepEqual(parseLines(out()), [
    { name: 'provisioned', expected: 'yes', seen: 'yes', pass: true },
    { name: 'Run the sandbox', expected: 'completes', seen: 'sandbox create failed: no KVM', pass: false },
    { name: 'Clean up', expected: 'completes', seen: 'stop the node: driver would not stop', pass: false },
  ]);
  assert.equal(report.failed, 2);
  assert.equal(err(), '1 passed, 2 failed\n', 'the summary goes to stderr in --json mode');
});

test('text: the failed step is shown as FAIL, then the cleanup step and the summary', async () => {
  const { report, out } = capture(false);
  const cleanup = new CleanupStack();
  await runSteps(report, cleanup, 'Clean up', async () => {
    cleanup.push('nothing to undo', () => undefined);
    report.step('Read the snapshot');
    throw Object.assign(new Error("ENOENT: no such file or directory, open '/x/snap.txt'"), { code: 'ENOENT' });
  });
  report.summary();
  assert.equal(
    out(),
    "\n[1] Read the snapshot\n    FAIL Read the snapshot (expected completes, saw ENOENT: no such file or directory, open '/x/snap.txt')\n\n[2] Clean up\n\n0 passed, 1 failed\n",
  );
});

test('a step that fails before any step is named is still a failing check; nothing to clean up prints no step', async () => {
  const { report, out } = capture(true);
  await runSteps(report, new CleanupStack(), 'Clean up', async () => {
    throw 'no tmpdir';
  });
  assert.deepEqual(parseLines(out()), [{ name: 'Start the demo', expected: 'completes', seen: 'no tmpdir', pass: false }]);
});
