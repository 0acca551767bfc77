// Kubernetes' fsGroup for a non-root container: the passed-through volume is group-owned by fsGroup in the
// guest, and the container process has fsGroup among its supplementary groups (OCI additionalGids), so it
// can write there; without the group it cannot.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RecordStore } from '../../src/directvolume/index.js';
import { readBundle } from '../../src/runtime/oci/bundle.js';
import { Sandbox } from '../../src/runtime/sandbox/sandbox.js';
import { runtimeDeps } from '../../src/cli/runtime-setup.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { ext4LoopDisk, undoMountsAndLoops } from '../helpers/host-cleanup.js';

const skip = process.getuid?.() !== 0 ? 'sandboxes need root (loop devices, QEMU)' : !existsSync('/usr/bin/qemu-system-x86_64') ? 'qemu-system-x86 is not installed: run scripts/setup.sh' : false;

test('a non-root container writes to its fsGroup volume through a supplementary group', { skip, timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-fsgroup-'));
  after(() => {
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });
  const dv = join(root, 'dv');
  const records = new RecordStore(dv);
  const deps = await runtimeDeps({ root: dv, runtimeRoot: join(root, 'sandboxes'), goShimRoot: join(root, 'sbs') }, pino({ level: 'silent' }));
  const { dev } = ext4LoopDisk(root);
  const target = join(root, 'target');
  mkdirSync(target);
  await records.add(target, { 'volume-type': 'directvol', device: dev, fstype: 'ext4', metadata: { fsGroup: '3000' }, options: ['rw', 'nosuid', 'nodev'] });
  const run = async (name: string, user: { uid: number; gid: number; additionalGids?: number[] }) => {
    // A new file in the volume's root needs write access to the folder, which fsGroup gives to the group.
    const script = ['/bin/sh', '-c', `id; echo written > /data/${name} && cat /data/${name}`];
    const sb = await Sandbox.create(name, await readBundle(writeBundle(join(root, name), script, [{ destination: '/data', source: target }], user)), deps);
    let out = '';
    try {
      await sb.start((_s, d) => (out += d.toString()));
      return { code: await sb.wait(), out };
    } finally {
      await sb.destroy();
    }
  };
  const member = await run('member', { uid: 1000, gid: 1000, additionalGids: [3000] });
  assert.equal(member.code, 0, member.out);
  assert.match(member.out, /uid=1000 gid=1000 groups=.*3000/);
  assert.match(member.out, /^written$/m);
  const stranger = await run('stranger', { uid: 1000, gid: 1000 });
  assert.notEqual(stranger.code, 0, 'without the group the volume is not writable');
  assert.match(stranger.out, /Permission denied/);
});
