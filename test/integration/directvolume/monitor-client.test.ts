// The monitor client against real HTTP servers on unix sockets, laid out as Kata's Go shim and runtime-rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MonitorClient, RecordStore, directVolumeResize, directVolumeStats } from '../../../src/directvolume/index.js';
import { scratchDir } from '../../helpers/temp-dir.js';
import { startUnixHttpServer } from '../../helpers/unix-http-server.js';

const STATS = '{"usage":[{"available":900,"total":1000,"used":100,"unit":1},{"available":60,"total":64,"used":4,"unit":2}],"volume_condition":{"message":"OK"}}';

async function setup() {
  const dir = await scratchDir();
  const store = new RecordStore(join(dir, 'records'));
  const goShimRoot = join(dir, 'vc-sbs');
  const rsShimRoot = join(dir, 'kata');
  const client = new MonitorClient({ goShimRoot, rsShimRoot, timeoutMs: 500 });
  await store.add('/pods/p1/vol', '{"volume-type":"directvol","device":"/dev/disk by id/a+b","fstype":"ext4"}');
  await store.recordSandbox('/pods/p1/vol', 'sb1');
  return { store, client, goShimRoot, rsShimRoot };
}

test('stats asks the Go shim socket by device, escaped as Go escapes queries', async () => {
  const { store, client, goShimRoot } = await setup();
  const srv = await startUnixHttpServer(join(goShimRoot, 'sb1', 'shim-monitor.sock'), (_r, res) => res.end(STATS));
  try {
    assert.equal(await directVolumeStats(store, client, '/pods/p1/vol'), STATS);
    assert.deepEqual(srv.seen.map((r) => [r.method, r.url]), [['GET', '/direct-volume/stats?path=%2Fdev%2Fdisk+by+id%2Fa%2Bb']]);
  } finally {
    await srv.close();
  }
});

test('resize falls back to the runtime-rs socket and posts Go field names', async () => {
  const { store, client, rsShimRoot } = await setup();
  const srv = await startUnixHttpServer(join(rsShimRoot, 'sb1', 'shim-monitor.sock'), (_r, res) => res.end(''));
  try {
    await directVolumeResize(store, client, '/pods/p1/vol', 8 * 2 ** 30);
    assert.equal(srv.seen[0]?.method, 'POST');
    assert.equal(srv.seen[0]?.url, '/direct-volume/resize');
    assert.deepEqual(JSON.parse(srv.seen[0]?.body ?? ''), { VolumePath: '/dev/disk by id/a+b', Size: 8589934592 });
  } finally {
    await srv.close();
  }
});

test('a resize waits on the guest longer than a stats call may', async () => {
  const { store, client, goShimRoot } = await setup();
  const srv = await startUnixHttpServer(join(goShimRoot, 'sb1', 'shim-monitor.sock'), (_r, res) => void setTimeout(() => res.end(''), 1200));
  try {
    // The client's timeout is 500 ms; the grow answers after 1.2 s and is still waited for.
    await directVolumeResize(store, client, '/pods/p1/vol', 2 ** 30);
    assert.equal(srv.seen.length, 1);
  } finally {
    await srv.close();
  }
});

test('a shim error comes back with its text', async () => {
  const { store, client, goShimRoot } = await setup();
  const srv = await startUnixHttpServer(join(goShimRoot, 'sb1', 'shim-monitor.sock'), (_r, res) => {
    res.statusCode = 500;
    res.end('guest said: no such device');
  });
  try {
    await assert.rejects(directVolumeStats(store, client, '/pods/p1/vol'), /sandbox sb1 refused GET \/direct-volume\/stats: guest said: no such device/);
  } finally {
    await srv.close();
  }
});

test('no socket answering gives one clear error naming both places tried', async () => {
  const { store, client } = await setup();
  await assert.rejects(directVolumeStats(store, client, '/pods/p1/vol'), (e: Error & { code: string }) =>
    e.code === 'PV_ERR_SANDBOX_UNREACHABLE' && /vc-sbs\/sb1\/shim-monitor.sock.*kata\/sb1\/shim-monitor.sock.*is the sandbox running/.test(e.message),
  );
});

test('a shim that never answers times out', async () => {
  const { store, client, goShimRoot } = await setup();
  const srv = await startUnixHttpServer(join(goShimRoot, 'sb1', 'shim-monitor.sock'), () => undefined);
  try {
    await assert.rejects(directVolumeStats(store, client, '/pods/p1/vol'), (e: Error & { code: string }) => e.code === 'PV_ERR_TIMEOUT' && /within 500 ms/.test(e.message));
  } finally {
    await srv.close();
  }
});

test('stats of a volume no sandbox uses is refused before any socket is tried', async () => {
  const { store, client } = await setup();
  await store.releaseSandbox('/pods/p1/vol', 'sb1');
  await assert.rejects(directVolumeStats(store, client, '/pods/p1/vol'), /no sandbox uses volume \/pods\/p1\/vol yet/);
  await assert.rejects(directVolumeStats(store, client, '/pods/none'), /no direct-volume record for \/pods\/none/);
});
