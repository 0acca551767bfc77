import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PassvolError, isPassvolError, notFound } from '../../../common/errors.js';
import { RecordStore } from '../../../directvolume/index.js';
import { SandboxFreezer } from './sandbox-freeze.js';

const log = pino({ level: 'silent' });

/** Records on a real store, shared by the tests (they only read it): /dev/loop3 bound to sandbox sb-a
 * (twice), /dev/loop4 to sb-kata, /dev/loop5 unbound. */
async function store(): Promise<RecordStore> {
  const root = await mkdtemp(join(tmpdir(), 'passvol-freeze-'));
  after(() => rm(root, { recursive: true, force: true }));
  const records = new RecordStore(root);
  const add = async (target: string, device: string, sandbox?: string) => {
    await records.add(target, { 'volume-type': 'directvol', device, fstype: 'ext4', options: ['rw'] });
    if (sandbox) await records.recordSandbox(target, sandbox);
  };
  await add('/k/pods/a/volumes/v3/mount', '/dev/loop3', 'sb-a');
  await add('/k/pods/a/volumes/v3-again/mount', '/dev/loop3', 'sb-a'); // one disk named by two records
  await add('/k/pods/b/volumes/v4/mount', '/dev/loop4', 'sb-kata');
  await add('/k/pods/c/volumes/v5/mount', '/dev/loop5');
  return records;
}
const records = await store();

function monitor(thawAnswer = true) {
  const calls: string[] = [];
  return {
    calls,
    freeze: async (sandboxId: string, device: string, leaseMs: number, options: { renew?: boolean } = {}) => {
      calls.push(`${options.renew ? 'renew' : 'freeze'} ${sandboxId} ${device} ${leaseMs}`);
      if (sandboxId === 'sb-kata') throw notFound(`sandbox ${sandboxId} refused POST /direct-volume/freeze: 404 page not found`);
    },
    thaw: async (sandboxId: string, device: string) => {
      calls.push(`thaw ${sandboxId} ${device}`);
      return thawAnswer;
    },
  };
}

test('the sandbox holding the disk is frozen once for the copy and thawed after it; unbound devices need nothing', async () => {
  const m = monitor();
  const freezer = new SandboxFreezer({ records, monitor: m, log, leaseMs: 30_000 });
  const got = await freezer.whileFrozen(['/dev/loop3', '/dev/loop5'], async () => {
    m.calls.push('copy');
    return 'copied';
  });
  assert.equal(got, 'copied');
  assert.deepEqual(m.calls, ['freeze sb-a /dev/loop3 30000', 'copy', 'thaw sb-a /dev/loop3']);
});

test('a runtime that cannot freeze (Kata answers 404) gets a live copy', async () => {
  const m = monitor();
  await new SandboxFreezer({ records, monitor: m, log }).whileFrozen(['/dev/loop4'], async () => void m.calls.push('copy'));
  assert.deepEqual(m.calls, ['freeze sb-kata /dev/loop4 60000', 'copy']);
});

test('a freeze that lapsed before the thaw fails the copy with ABORTED; a failed copy still thaws', async () => {
  const lapsed = monitor(false);
  await assert.rejects(
    new SandboxFreezer({ records, monitor: lapsed, log }).whileFrozen(['/dev/loop3'], async () => 'copied'),
    (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_ABORTED' && /did not hold/.test(e.message),
  );
  const m = monitor();
  await assert.rejects(
    new SandboxFreezer({ records, monitor: m, log }).whileFrozen(['/dev/loop3'], async () => {
      throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', 'no space left for the copy');
    }),
    /no space left/,
  );
  assert.deepEqual(m.calls, ['freeze sb-a /dev/loop3 60000', 'thaw sb-a /dev/loop3']);
});

test('the lease is renewed while a long copy runs', async () => {
  const m = monitor();
  await new SandboxFreezer({ records, monitor: m, log, leaseMs: 300 }).whileFrozen(['/dev/loop3'], () => new Promise((r) => setTimeout(r, 450)));
  const renewals = m.calls.filter((c) => c === 'renew sb-a /dev/loop3 300').length;
  assert.ok(renewals >= 3, `renewed every third of the lease: ${m.calls.join(', ')}`);
  assert.equal(m.calls[0], 'freeze sb-a /dev/loop3 300');
  assert.equal(m.calls.at(-1), 'thaw sb-a /dev/loop3');
});
