import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AgentContext } from '../context.js';
import { PathMapper } from '../guest-paths.js';
import { setupNetwork } from './setup-network.js';

function contextWith(run: (args: readonly string[]) => void): { ctx: AgentContext; root: string; calls: string[][] } {
  const root = mkdtempSync(join(tmpdir(), 'passvol-net-op-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const calls: string[][] = [];
  const ctx = {
    log: pino({ level: 'silent' }),
    paths: new PathMapper(root),
    run: async (cmd: string, args: readonly string[]) => {
      calls.push([cmd, ...args]);
      run(args);
      return { stdout: '', stderr: '' };
    },
  } as unknown as AgentContext;
  return { ctx, root, calls };
}

test('the hot-plugged NIC is waited for, then given the guest address and brought up; an address already there is fine', async () => {
  const { ctx, root, calls } = contextWith((args) => {
    if (args[0] === 'addr') throw new Error('ip: RTNETLINK answers: File exists');
  });
  setTimeout(() => mkdirSync(join(root, 'sys/class/net/eth0'), { recursive: true }), 150);
  assert.deepEqual(await setupNetwork({ waitMs: 5000 }, ctx), { interface: 'eth0', address: '10.0.2.15/24' });
  assert.deepEqual(calls, [
    ['ip', 'addr', 'add', '10.0.2.15/24', 'dev', 'eth0'],
    ['ip', 'link', 'set', 'eth0', 'up'],
  ]);
});

test('no NIC within the wait: NOT_FOUND, and nothing run', async () => {
  const { ctx, calls } = contextWith(() => undefined);
  await assert.rejects(setupNetwork({ waitMs: 100 }, ctx), (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && /no eth0 after 100 ms/.test(e.message));
  assert.deepEqual(calls, []);
});
