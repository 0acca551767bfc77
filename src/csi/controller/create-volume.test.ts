import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { VolumeLocks } from '../volume-locks.js';
import type { ControllerContext } from './controller-context.js';
import { createVolume } from './create-volume.js';

/** A backend whose CreateVolume stays in flight until released, and the context around it. */
function pendingCreate() {
  let release: () => void = () => undefined;
  const inFlight = new Promise<void>((r) => (release = r));
  const locks = new VolumeLocks();
  const ctx = {
    config: { nodeId: 'node-1' },
    locks,
    log: pino({ level: 'silent' }),
    cluster: {},
    backend: {
      supportedModes: ['SINGLE_NODE_WRITER'],
      supportedFsTypes: ['ext4'],
      defaultFsType: 'ext4',
      blockSupported: true,
      validateParameters: () => undefined,
      createVolume: async () => {
        await inFlight;
        return { volumeId: 'pvd-new', capacityBytes: 1 << 20, volumeContext: {} };
      },
    },
  } as unknown as ControllerContext;
  return { ctx, locks, release };
}

const request = (source: object) => ({ name: 'pvc-x', volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }], parameters: {}, volume_content_source: source });
const busy = (e: unknown) => (e as { code?: string }).code === 'PV_ERR_VOLUME_BUSY';

test('a restore holds its snapshot and a clone its source volume: an operation on either meanwhile is refused at once', async () => {
  for (const [source, key] of [[{ snapshot: { snapshot_id: 'snap-1' } }, 'snapshot:snap-1'], [{ volume: { volume_id: 'pvd-src' } }, 'pvd-src']] as const) {
    const { ctx, locks, release } = pendingCreate();
    const created = createVolume(ctx, request(source));
    await new Promise((r) => setImmediate(r));
    await assert.rejects(locks.with(key, async () => undefined), busy, `${key} is held while the copy runs`);
    await assert.rejects(locks.with('name:pvc-x', async () => undefined), busy);
    release();
    await created;
    await locks.with(key, async () => undefined);
    assert.equal(locks.size, 0);
  }
});
