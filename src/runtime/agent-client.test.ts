import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { isPassvolError } from '../common/errors.js';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import { AgentClient } from './agent-client.js';

test('an agent of another protocol version is named as such at once, not waited for until a timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-agentclient-'));
  const socket = join(dir, 'agent.sock');
  // A newer agent: it answers every request, in its own envelope.
  const server = createServer((c) => c.on('data', (d) => {
    for (const line of d.toString().split('\n').filter(Boolean)) c.write(`${JSON.stringify({ v: PROTOCOL_VERSION + 1, id: (JSON.parse(line) as { id: number }).id, ok: true, result: {} })}\n`);
  }));
  await new Promise<void>((r) => server.listen(socket, r));
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = await AgentClient.connect(socket, pino({ level: 'silent' }), 2000);
  await assert.rejects(client.waitReady(30_000), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_FAILED_PRECONDITION' && e.message.includes(`protocol version ${PROTOCOL_VERSION + 1}, this runtime ${PROTOCOL_VERSION}: rebuild the guest image`));
  client.close();
});

test('an agent that restarts fails the calls it will never answer, and says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-agentclient-'));
  const socket = join(dir, 'agent.sock');
  // An agent that announces itself, answers ping, never answers wait, and then is restarted by init.
  const server = createServer((c) => {
    c.write(`${JSON.stringify({ v: 3, event: 'ready', pid: 100 })}\n`);
    c.on('data', (d) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        const req = JSON.parse(line) as { id: number; op: string };
        if (req.op === 'ping') c.write(`${JSON.stringify({ v: 3, id: req.id, ok: true, result: { version: '1', protocol: 3, uptimeMs: 5, bootId: 'b' } })}\n`);
        if (req.op === 'wait') setTimeout(() => c.write(`${JSON.stringify({ v: 3, event: 'ready', pid: 200 })}\n`), 50);
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = await AgentClient.connect(socket, pino({ level: 'silent' }), 2000);
  const restarted = new Promise<number>((r) => client.once('restarted', r));
  await client.waitReady(5000);
  await assert.rejects(client.call('wait', { containerId: 'main', execId: 'main' }, 3600_000), /guest agent restarted \(now pid 200\)/);
  assert.equal(await restarted, 200);
  client.close();
});
