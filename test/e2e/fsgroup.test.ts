// Kubernetes' fsGroup for a non-root container: the passed-through volume is group-owned by fsGroup in the
// guest, and the container process has fsGroup among its supplementary groups (OCI additionalGids), so it
// can write there; without the group it cannot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readBundle } from '../../src/runtime/oci/bundle.js';
import { Sandbox } from '../../src/runtime/sandbox/sandbox.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { sandboxFixture, sandboxSkip } from '../helpers/sandbox-fixture.js';

test('a non-root container writes to its fsGroup volume through a supplementary group', { skip: sandboxSkip, timeout: 600_000 }, async () => {
  const { root, deps, target } = await sandboxFixture('passvol-fsgroup-', { fsGroup: '3000' });
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
