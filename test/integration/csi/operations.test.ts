// What an operator sees: JSON logs without secrets, Prometheus metrics per RPC, a health endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { GRPC, failsWith } from '../../helpers/csi-client.js';
import { csiFixture, mountCap } from '../../helpers/csi-fixture.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

test('logs are JSON lines, carry each call, and never a secret', { skip: needsRoot }, async () => {
  const f = await csiFixture(['--log-level', 'debug', '--metrics-address', '127.0.0.1:19871']);
  const secret = 'S3cr3t-Value-That-Must-Not-Leak';
  await f.csi.controller.CreateVolume!({ name: 'pv-secret', capacity_range: { required_bytes: 16 * 2 ** 20 }, volume_capabilities: [mountCap()], secrets: { password: secret, token: secret } });
  await failsWith(f.csi.controller.DeleteVolume!({ volume_id: '', secrets: { password: secret } }), GRPC.INVALID_ARGUMENT);
  const logs = await f.driver.logsOnce(/"method":"DeleteVolume"[^\n]*"code":"INVALID_ARGUMENT"/);
  assert.ok(!logs.includes(secret), 'a secret reached the log');
  const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l.method === 'CreateVolume' && l.msg === 'request' && /"secrets":/.test(JSON.stringify(l.request))));
  assert.ok(lines.some((l) => l.method === 'CreateVolume' && l.code === 'OK' && typeof l.ms === 'number'));
  assert.ok(lines.some((l) => l.method === 'DeleteVolume' && l.code === 'INVALID_ARGUMENT' && l.level === 40));
  // The records' root is told apart: a tmpfs is quiet, anything else gets one warning at start-up.
  const onTmpfs = execFileSync('stat', ['-f', '-c', '%T', f.l.directVolumes], { encoding: 'utf8' }).trim() === 'tmpfs';
  assert.equal(lines.filter((l) => /direct-volume root is not on a tmpfs/.test(String(l.msg))).length, onTmpfs ? 0 : 1);

  const metrics = await (await fetch('http://127.0.0.1:19871/metrics')).text();
  assert.match(metrics, /passvol_csi_operations_total\{driver="disk.csi.passvol.io",mode="all",method="CreateVolume",grpc_code="OK"\} 1/);
  assert.match(metrics, /passvol_csi_operations_total\{[^}]*method="DeleteVolume",grpc_code="INVALID_ARGUMENT"\} 1/);
  assert.match(metrics, /passvol_csi_operation_duration_seconds_bucket\{[^}]*method="CreateVolume"/);
  const health = await fetch('http://127.0.0.1:19871/healthz');
  assert.equal(health.status, 200);
});

test('Identity answers name, capabilities and readiness', { skip: needsRoot }, async () => {
  const f = await csiFixture();
  assert.equal(((await f.csi.identity.GetPluginInfo!({})) as { name: string }).name, 'disk.csi.passvol.io');
  const caps = (await f.csi.identity.GetPluginCapabilities!({})) as { capabilities: object[] };
  const names = (caps.capabilities as { service?: { type: string }; volume_expansion?: { type: string } }[]).map((c) => c.service?.type ?? `EXPANSION_${c.volume_expansion?.type}`);
  assert.deepEqual(names.sort(), ['CONTROLLER_SERVICE', 'EXPANSION_ONLINE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS']);
  assert.deepEqual(await f.csi.identity.Probe!({}), { ready: { value: true } });
  const info = (await f.csi.node.NodeGetInfo!({})) as { node_id: string; max_volumes_per_node: number; accessible_topology: { segments: object } };
  assert.deepEqual(info.accessible_topology.segments, { 'topology.disk.csi.passvol.io/node': 'node-1' });
  assert.equal(info.max_volumes_per_node, 64);
});
