import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../common/processes.js';
import { descendantsOf, endDemoProcesses } from './demo-cleanup.js';

const IDLE = 'setTimeout(() => undefined, 60_000)';

test('endDemoProcesses ends only processes this one started that name the folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-demo-cleanup-test-'));
  const naming = spawn(process.execPath, ['-e', IDLE, join(dir, 'vm', 'qmp.sock')], { stdio: 'ignore' });
  const other = spawn(process.execPath, ['-e', IDLE, '/somewhere/else'], { stdio: 'ignore' });
  // Started by a shell that exits at once: no longer below this process, like someone else's program using the folder.
  const stranger = Number(execFileSync('sh', ['-c', `"$0" -e '${IDLE}' "$1" >/dev/null 2>&1 & echo $!`, process.execPath, join(dir, 'their-file')], { encoding: 'utf8' }).trim());
  try {
    await new Promise((r) => setTimeout(r, 300));
    const below = descendantsOf(process.pid);
    assert.ok(below.includes(naming.pid as number) && below.includes(other.pid as number), 'children are descendants');
    assert.ok(!below.includes(stranger), 'an orphan is not');
    const exited = new Promise((r) => naming.once('exit', r));
    assert.deepEqual(endDemoProcesses(dir), [naming.pid]);
    await exited;
    assert.equal(naming.signalCode, 'SIGKILL');
    assert.equal(other.exitCode, null);
    assert.ok(pidAlive(stranger), 'a process this one did not start is left alone');
  } finally {
    naming.kill('SIGKILL');
    other.kill('SIGKILL');
    try {
      process.kill(stranger, 'SIGKILL');
    } catch {
      // gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
