import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AgentContext } from '../context.js';
import { PathMapper } from '../guest-paths.js';
import { guestNetwork, NETWORK_READY_MARK, SetupPodNetworkArgs } from '../../protocol/index.js';
import { setupPodNetwork } from './setup-pod-network.js';

/** A guest whose /sys/class/net is a folder; `ip link set dev A name B` renames A's folder, as the kernel would. */
function guest(): { ctx: AgentContext; root: string; net: string; calls: string[][]; failWith: Map<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'passvol-podnet-op-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const net = join(root, 'sys/class/net');
  mkdirSync(net, { recursive: true });
  const calls: string[][] = [];
  const failWith = new Map<string, string>();
  const ctx = {
    log: pino({ level: 'silent' }),
    paths: new PathMapper(root),
    run: async (cmd: string, args: readonly string[]) => {
      calls.push([cmd, ...args]);
      const failure = failWith.get(args.join(' '));
      if (failure) throw new Error(failure);
      const i = args.indexOf('name');
      if (args[1] === 'set' && i > 0) renameSync(join(net, args[3]!), join(net, args[i + 1]!));
      return { stdout: '', stderr: '' };
    },
  } as unknown as AgentContext;
  return { ctx, root, net, calls, failWith };
}

function addNic(net: string, name: string, mac: string): void {
  mkdirSync(join(net, name), { recursive: true });
  writeFileSync(join(net, name, 'address'), `${mac}\n`);
}

const POD_MAC = '0a:58:0a:e7:00:05';
const podArgs = (extra: Partial<SetupPodNetworkArgs> = {}) =>
  SetupPodNetworkArgs.parse({
    waitMs: 2000,
    interfaces: [{ name: 'eth0', mac: POD_MAC, mtu: 1450, addresses: ['10.231.0.5/24', 'fd00::5/64'] }],
    routes: [
      { destination: 'default', family: 'inet', gateway: '10.231.0.1', device: 'eth0' },
      { destination: 'fd01::/64', family: 'inet6', gateway: 'fd00::1', device: 'eth0', metric: 1024 },
    ],
    ...extra,
  });
type SetupPodNetworkArgs = ReturnType<typeof SetupPodNetworkArgs.parse>;

test("the pod's NIC, hot-plugged, takes the pod interface's name (the NFS NIC that had it is renamed), MTU, addresses and routes", async () => {
  const { ctx, root, net, calls } = guest();
  addNic(net, 'lo', '00:00:00:00:00:00');
  addNic(net, 'eth0', guestNetwork(0).mac);
  setTimeout(() => addNic(net, 'eth1', POD_MAC), 100);
  // Network 0's NIC is renamed only once init has configured it.
  await assert.rejects(setupPodNetwork(podArgs({ waitMs: 300 }), ctx), /init has not brought up the NFS network/);
  calls.length = 0;
  mkdirSync(join(root, NETWORK_READY_MARK, '..'), { recursive: true });
  writeFileSync(join(root, NETWORK_READY_MARK), '');
  assert.deepEqual(await setupPodNetwork(podArgs(), ctx), { interfaces: [{ name: 'eth0', mac: POD_MAC }] });
  assert.deepEqual(calls.map((c) => c.join(' ')), [
    'ip link set dev eth1 down',
    'ip link set dev eth0 down',
    'ip link set dev eth0 name nfs0',
    'ip link set dev nfs0 up',
    'ip link set dev eth1 name eth0',
    'ip link set dev eth0 mtu 1450',
    'ip addr add 10.231.0.5/24 dev eth0',
    'ip -6 addr add fd00::5/64 dev eth0',
    'ip link set dev eth0 up',
    'ip route add default via 10.231.0.1 dev eth0',
    'ip -6 route add fd01::/64 via fd00::1 dev eth0 metric 1024',
  ]);
});

test('run again (a retry), what is there already is fine; a NIC that never appears is NOT_FOUND', async () => {
  const { ctx, net, calls, failWith } = guest();
  addNic(net, 'eth0', POD_MAC);
  failWith.set('addr add 10.231.0.5/24 dev eth0', 'ip: RTNETLINK answers: File exists');
  failWith.set('route add default via 10.231.0.1 dev eth0', 'ip: RTNETLINK answers: File exists');
  await setupPodNetwork(podArgs(), ctx);
  assert.ok(!calls.some((c) => c.includes('name')), 'a NIC with the right name keeps it');
  failWith.set('link set dev eth0 mtu 1450', 'ip: SIOCSIFMTU: Invalid argument');
  await assert.rejects(setupPodNetwork(podArgs(), ctx), /Invalid argument/, 'other failures are reported');
  await assert.rejects(setupPodNetwork(podArgs({ waitMs: 100, interfaces: [{ name: 'eth0', mac: '0a:58:0a:e7:00:09', mtu: 1500, addresses: [] }], routes: [] }), ctx), /no network interface with MAC 0a:58:0a:e7:00:09/);
});

test('the arguments are checked: routes by a known interface, addresses with prefixes, unicast MACs', () => {
  const base = { interfaces: [{ name: 'eth0', mac: POD_MAC, mtu: 1500, addresses: ['10.231.0.5/24'] }] };
  assert.equal(SetupPodNetworkArgs.safeParse(base).success, true);
  const bad = [
    { ...base, routes: [{ destination: 'default', family: 'inet', gateway: '10.231.0.1', device: 'eth9' }] },
    { interfaces: [{ ...base.interfaces[0], addresses: ['10.231.0.5'] }] },
    { interfaces: [{ ...base.interfaces[0], mac: '01:00:5e:00:00:01' }] },
    { interfaces: [{ ...base.interfaces[0], name: 'eth0; reboot' }] },
    { ...base, routes: [{ destination: '10.96.0.0/99', family: 'inet', device: 'eth0' }] },
  ];
  for (const b of bad) assert.equal(SetupPodNetworkArgs.safeParse(b).success, false, JSON.stringify(b));
});
