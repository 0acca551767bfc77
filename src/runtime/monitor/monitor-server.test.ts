// The monitor server against the passvol client and Kata's wire shapes, over a real unix socket. The
// sandbox behind it is a stand-in here; the end-to-end tests drive a real VM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PassvolError, isPassvolError, notFound } from '../../common/errors.js';
import { MonitorClient } from '../../directvolume/index.js';
import { startMonitorServer, stopMonitorServer, type DirectVolumeOps } from './monitor-server.js';

const resized: [string, number][] = [];
const frozen: [string, number][] = [];
const renewed: [string, number][] = [];
const ops: DirectVolumeOps = {
  async stats(device) {
    if (device !== '/dev/loop7') throw notFound(`no volume with device ${device} in this sandbox`);
    return { bytes: { total: 1000, used: 100, available: 900 }, inodes: { total: 64, used: 0, available: 64 } };
  },
  async resize(device, size) {
    if (size < 4096) throw new PassvolError('PV_ERR_OUT_OF_RANGE', `volume ${device} can only grow`);
    resized.push([device, size]);
  },
  async freeze(device, leaseMs, renew) {
    if (device !== '/dev/loop7') throw notFound(`no volume with device ${device} in this sandbox`);
    (renew ? renewed : frozen).push([device, leaseMs]);
  },
  async thaw(device) {
    return frozen.some(([d]) => d === device);
  },
};

test('stats and resize speak Kata JSON; bad input gets 400 with the reason', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'passvol-monitor-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'sb-1', 'shim-monitor.sock');
  const server = await startMonitorServer(sock, ops, pino({ level: 'silent' }));
  try {
    const client = new MonitorClient({ goShimRoot: dir, rsShimRoot: join(dir, 'none') });
    assert.equal(
      await client.stats('sb-1', '/dev/loop7'),
      '{"usage":[{"available":900,"total":1000,"used":100,"unit":1},{"available":64,"total":64,"unit":2}],"volume_condition":{"message":"OK"}}',
    );
    await client.resize('sb-1', '/dev/loop7', 2 ** 30);
    assert.deepEqual(resized, [['/dev/loop7', 2 ** 30]]);
    const raw = (method: string, path: string, body?: string) =>
      new Promise<[number, string]>((resolve, reject) => {
        const req = request({ socketPath: sock, method, path }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c));
          res.on('end', () => resolve([res.statusCode ?? 0, b]));
        });
        req.on('error', reject);
        req.end(body);
      });
    assert.deepEqual(await raw('GET', '/direct-volume/stats'), [400, 'Required parameter path not found']);
    assert.equal((await raw('POST', '/direct-volume/resize', '{"VolumePath":"/dev/loop7","Size":-1}'))[0], 400);
    assert.equal((await raw('POST', '/direct-volume/resize', 'nope'))[0], 400);
    assert.deepEqual(await raw('GET', '/direct-volume/stats?path=%2Fdev%2Fother'), [404, 'no volume with device /dev/other in this sandbox']);
    assert.equal((await raw('GET', '/nothing'))[0], 404);
    // Kata sees a plain 500; passvol's client gets the exact code back (and the CLI its exit code).
    assert.equal((await raw('POST', '/direct-volume/resize', '{"VolumePath":"/dev/loop7","Size":1024}'))[0], 500);
    await assert.rejects(client.resize('sb-1', '/dev/loop7', 1024), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_OUT_OF_RANGE' && /can only grow/.test(e.message));

    // passvol's freeze and thaw: the lease is passed on, the thaw says whether the freeze held.
    await client.freeze('sb-1', '/dev/loop7', 60_000);
    assert.deepEqual(frozen, [['/dev/loop7', 60_000]]);
    await client.freeze('sb-1', '/dev/loop7', 60_000, { renew: true });
    assert.deepEqual(renewed, [['/dev/loop7', 60_000]], 'a renewal reaches the sandbox as one');
    assert.equal(await client.thaw('sb-1', '/dev/loop7'), true);
    assert.equal(await client.thaw('sb-1', '/dev/loop8'), false);
    await assert.rejects(client.freeze('sb-1', '/dev/loop8', 60_000), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_NOT_FOUND');
    assert.deepEqual(await raw('POST', '/direct-volume/freeze', '{"VolumePath":"/dev/loop7","LeaseMs":10}'), [400, 'LeaseMs must be at least 100']);
    assert.deepEqual(await raw('POST', '/direct-volume/freeze', '{"VolumePath":"/dev/loop7"}'), [400, 'LeaseMs is required: how long the guest may stay frozen, in ms']);
    assert.equal((await raw('POST', '/direct-volume/thaw', '{"VolumePath":""}'))[0], 400);
    assert.deepEqual(frozen, [['/dev/loop7', 60_000]], 'bad requests froze nothing');
  } finally {
    await stopMonitorServer(server, sock);
  }
});

test("GET /metrics answers the sandbox's metrics in Prometheus' text format, where Kata's shim serves its own", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'passvol-monitor-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'sb-2', 'shim-monitor.sock');
  const server = await startMonitorServer(sock, ops, pino({ level: 'silent' }), async () => 'passvol_sandbox_boot_seconds 5\n');
  try {
    const [status, type, body] = await new Promise<[number, string, string]>((resolve, reject) => {
      const req = request({ socketPath: sock, method: 'GET', path: '/metrics' }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c));
        res.on('end', () => resolve([res.statusCode ?? 0, String(res.headers['content-type']), b]));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual([status, body], [200, 'passvol_sandbox_boot_seconds 5\n']);
    assert.match(type, /^text\/plain; version=0\.0\.4/);
  } finally {
    await stopMonitorServer(server, sock);
  }
});
