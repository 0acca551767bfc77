import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPassvolError } from '../../common/errors.js';
import type { AgentClient } from '../agent-client.js';
import type { AttachedVolume } from '../volumes/sandbox-volume.js';
import { directVolumeOps } from './sandbox-volume-ops.js';

test('resize grows in whole sectors, never shrinks, and grows the guest filesystem after the disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-ops-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const image = join(dir, 'disk.img');
  writeFileSync(image, '');
  truncateSync(image, 1_048_576);
  const calls: string[] = [];
  const volume: AttachedVolume = { kind: 'direct-block', guestPath: '/run/passvol/volumes/v1', device: image, hotplugId: 'v1', detach: async () => undefined };
  const agent = { call: async (op: string, args: { minDeviceBytes?: number }) => void calls.push(`${op} ${args.minDeviceBytes}`) } as unknown as AgentClient;
  const ops = directVolumeOps({
    sandbox: 'sb',
    attached: () => [volume],
    agent: () => agent,
    vm: () => ({ hotplugBlock: async () => undefined, unplugBlock: async () => undefined, resizeBlock: async (id, bytes) => void calls.push(`block_resize ${id} ${bytes}`) }),
  });
  await ops.resize(image, 2_000_001);
  assert.deepEqual(calls, ['block_resize v1 2000384', 'growFilesystem 2000384']);
  await assert.rejects(ops.resize(image, 4096), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_OUT_OF_RANGE' && /can only grow/.test(e.message));
  await assert.rejects(ops.resize('/dev/other', 2 ** 30), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_NOT_FOUND');
  assert.equal(calls.length, 2, 'nothing more was asked of the VM or the guest');
});
