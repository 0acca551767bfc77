import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AgentContext } from '../context.js';
import { PathMapper } from '../guest-paths.js';
import { KeyedLock } from '../keyed-lock.js';
import { mount } from './mount.js';

/** What a share mount touches, with `mount` answering from `answers` in turn. */
function contextWith(answers: (string | undefined)[]): { ctx: AgentContext; calls: string[][] } {
  const root = mkdtempSync(join(tmpdir(), 'passvol-mount-op-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const calls: string[][] = [];
  const ctx = {
    config: { root },
    log: pino({ level: 'silent' }),
    paths: new PathMapper(root),
    locks: new KeyedLock(),
    mounted: new Set<string>(),
    run: async (cmd: string, args: readonly string[]) => {
      calls.push([cmd, ...args]);
      const failure = answers.shift();
      if (failure) throw new Error(`mount: mounting rootfs failed: ${failure}`);
      return { stdout: '', stderr: '' };
    },
  } as unknown as AgentContext;
  return { ctx, calls };
}

const shareArgs = { source: { kind: 'virtiofs' as const, tag: 'rootfs' }, target: '/run/passvol/shares/rootfs', fstype: 'virtiofs', options: [] };

test('a hot-plugged share is mounted once the guest has probed it (the kernel says EINVAL until then)', async () => {
  const { ctx, calls } = contextWith(['Invalid argument', 'Invalid argument', undefined]);
  assert.deepEqual(await mount({ ...shareArgs, deviceWaitMs: 5000 }, ctx), { fstype: 'virtiofs' });
  assert.equal(calls.length, 3);
  assert.ok(ctx.mounted.has('/run/passvol/shares/rootfs'));
});

test('a share of a booted VM is not waited for, and other failures are not retried', async () => {
  const plain = contextWith(['Invalid argument', undefined]);
  await assert.rejects(mount(shareArgs, plain.ctx), /Invalid argument/);
  assert.equal(plain.calls.length, 1);
  const denied = contextWith(['Permission denied', undefined]);
  await assert.rejects(mount({ ...shareArgs, deviceWaitMs: 5000 }, denied.ctx), (e: Error & { code?: string }) => e.code === 'PERMISSION_DENIED');
  assert.equal(denied.calls.length, 1);
});
