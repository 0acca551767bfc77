import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { isPassvolError } from '../common/errors.js';
import { AgentClient } from './agent-client.js';

test('an agent of another protocol version is named as such at once, not waited for until a timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-agentclient-'));
  const socket = join(dir, 'agent.sock');
  // A newer agent: it answers every request, in its own envelope.
  const server = createServer((c) => c.on('data', (d) => {
    for (const line of d.toString().split('\n').filter(Boolean)) c.write(`${JSON.stringify({ v: 2, id: (JSON.parse(line) as { id: number }).id, ok: true, result: {} })}\n`);
  }));
  await new Promise<void>((r) => server.listen(socket, r));
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = await AgentClient.connect(socket, pino({ level: 'silent' }), 2000);
  await assert.rejects(client.waitReady(30_000), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_FAILED_PRECONDITION' && /protocol version 2, this runtime 1: rebuild the guest image/.test(e.message));
  client.close();
});
