// csi-sanity against the NAS driver, on the embedded NFS server, with volumes passed through (this host's
// kernel has no NFS client, so the host-mount path cannot run here; the passthrough path needs none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestNfsServer } from '../helpers/nfs-server.js';
import { scratchDir } from '../helpers/temp-dir.js';

const SCRIPT = fileURLToPath(new URL('./run-csi-sanity.sh', import.meta.url));
const notRoot = process.getuid?.() !== 0 ? 'the embedded NFS server needs root' : false;

test('csi-sanity: NAS driver, passthrough volumes on the embedded NFS server', { skip: notRoot }, async () => {
  const nfs = await startTestNfsServer();
  const params = join(await scratchDir(), 'params.yaml');
  writeFileSync(params, `server: "${nfs.info.server}"\nshare: "${nfs.info.share}"\npassthrough: "true"\nonDelete: delete\n`);
  const r = spawnSync('bash', [SCRIPT, 'nas', '--csi.testvolumeparameters', params], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
    env: { ...process.env, PASSVOL_SANITY_DRIVER_FLAGS: `--nas-local-path ${nfs.info.localPathMapping}` },
  });
  const out = `${r.stdout}${r.stderr}`;
  const summary = /(\d+) Passed \| (\d+) Failed/.exec(out);
  assert.ok(summary, `csi-sanity printed no summary:\n${out.slice(-4000)}`);
  assert.equal(Number(summary[2]), 0, `csi-sanity failures:\n${out.match(/\[FAIL\].*/g)?.join("\n")}\n${out.slice(-3000)}`);
  assert.equal(r.status, 0, out.slice(-4000));
});
