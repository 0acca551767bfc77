import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentError } from '../protocol/index.js';
import { runCommand } from './run-command.js';

test('a failing command carries the head of its stderr; a missing one says it is not installed', async () => {
  assert.equal((await runCommand('sh', ['-c', 'echo out'])).stdout, 'out\n');
  await assert.rejects(runCommand('sh', ['-c', 'echo first >&2; echo second >&2; exit 3'], { failureCode: 'FAILED_PRECONDITION' }), (e: unknown) =>
    e instanceof AgentError && e.code === 'FAILED_PRECONDITION' && /exit 3\): first \/ second/.test(e.message),
  );
  await assert.rejects(runCommand('passvol-no-such-tool', ['x']), (e: unknown) => e instanceof AgentError && /not installed in the guest/.test(e.message));
  await assert.rejects(runCommand('sleep', ['5'], { timeoutMs: 100 }), /timed out after 100 ms/);
});
