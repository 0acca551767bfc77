// The host side of pod networking on real namespaces (no VM: a tap made with `ip tuntap` stands where
// QEMU's would): what is read from a namespace CNI-style set up, the redirects between the pod's
// interface and the tap, and their removal. Needs root (network namespaces, tc).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SystemExec } from '../../../src/common/exec.js';
import { guestNetwork } from '../../../src/protocol/index.js';
import { connectTap, disconnectPodNetwork, podNetworkOverlap, readPodNetwork, tapName } from '../../../src/runtime/network/pod-network.js';
import { needsRoot } from '../../helpers/host-cleanup.js';

const exec = new SystemExec();
let namespaces = 0;

function sh(args: string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns: string, args: string[]) => sh(['ip', 'netns', 'exec', ns, ...args]);

/** A new network namespace; its name and path. */
function namespace(): { ns: string; path: string } {
  const ns = `pvnet-test-${process.pid}-${++namespaces}`;
  sh(['ip', 'netns', 'add', ns]);
  after(() => spawnSync('ip', ['netns', 'del', ns]));
  return { ns, path: `/var/run/netns/${ns}` };
}

/** A namespace as CNI's bridge plugin leaves it: eth0 (a veth) with an address, MTU and a default route. */
function podNamespace(): { ns: string; path: string } {
  const { ns: NS, path } = namespace();
  sh(['ip', '-n', NS, 'link', 'add', 'eth0', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'peer0']);
  sh(['ip', '-n', NS, 'addr', 'add', '10.232.0.5/24', 'dev', 'eth0']);
  sh(['ip', '-n', NS, '-6', 'addr', 'add', 'fd00:232::5/64', 'dev', 'eth0', 'nodad']);
  for (const l of ['lo', 'eth0', 'peer0']) sh(['ip', '-n', NS, 'link', 'set', l, 'up']);
  sh(['ip', '-n', NS, 'route', 'add', 'default', 'via', '10.232.0.1', 'dev', 'eth0']);
  sh(['ip', '-n', NS, 'route', 'add', '10.96.0.0/12', 'via', '10.232.0.1', 'dev', 'eth0', 'metric', '50']);
  // Multipath: the guest does not get it, and is told so.
  sh(['ip', '-n', NS, 'route', 'add', '10.97.0.0/16', 'nexthop', 'via', '10.232.0.1', 'dev', 'eth0', 'nexthop', 'via', '10.232.0.2', 'dev', 'eth0']);
  // Down: not the pod's network (nor is peer0, which has no global address).
  sh(['ip', '-n', NS, 'link', 'add', 'down0', 'type', 'veth', 'peer', 'name', 'down1']);
  sh(['ip', '-n', NS, 'addr', 'add', '10.233.0.5/24', 'dev', 'down0']);
  return { ns: NS, path };
}

test("what the guest gets is read from the pod's namespace: its Ethernet interfaces that are up with an address, and the routes the addresses do not make", { skip: needsRoot }, async () => {
  const { ns, path } = podNamespace();
  const net = await readPodNetwork(exec, 'sb1', path);
  assert.ok(net);
  const mac = inNs(ns, ['cat', '/sys/class/net/eth0/address']).trim();
  assert.deepEqual(net.interfaces, [{ name: 'eth0', mac, mtu: 1450, addresses: ['10.232.0.5/24', 'fd00:232::5/64'], tap: tapName('sb1', 0) }]);
  assert.deepEqual(net.routes, [
    { destination: 'default', family: 'inet', device: 'eth0', gateway: '10.232.0.1' },
    { destination: '10.96.0.0/12', family: 'inet', device: 'eth0', gateway: '10.232.0.1', metric: 50 },
  ]);
  assert.deepEqual(net.skipped, ['inet 10.97.0.0/16 (multipath)']);
  assert.ok(tapName('sb1', 0).length <= 15 && tapName('sb1', 0) !== tapName('sb2', 0));
});

test("a namespace without such an interface passes nothing; one that is not there, or the host's own, fails before a VM starts; an overlap with a guest NFS network is found", { skip: needsRoot }, async () => {
  const { ns, path } = namespace();
  assert.equal(await readPodNetwork(exec, 'sb1', path), undefined);
  await assert.rejects(readPodNetwork(exec, 'sb1', '/var/run/netns/passvol-no-such-ns'), /cannot read the pod's network namespace/);
  sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  sh(['ip', '-n', ns, 'addr', 'add', '10.0.3.9/24', 'dev', 'eth0']);
  sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  await assert.rejects(readPodNetwork(exec, 'sb1', '/proc/self/ns/net'), /is the host's network namespace/);
  const net = await readPodNetwork(exec, 'sb1', path);
  assert.ok(net);
  assert.equal(podNetworkOverlap(net, guestNetwork(0)), undefined, '10.0.2.0/24 is clear of 10.0.3.0/24');
  assert.equal(podNetworkOverlap(net, guestNetwork(1)), '10.0.3.9/24', "network 1 would shadow the pod's own subnet");
  assert.equal(podNetworkOverlap({ interfaces: [], routes: [{ destination: '10.0.0.0/8', family: 'inet', device: 'eth0', gateway: '10.231.0.1' }] }, guestNetwork(5)), '10.0.0.0/8');
  assert.equal(podNetworkOverlap({ interfaces: [], routes: [{ destination: 'default', family: 'inet', device: 'eth0', gateway: '10.231.0.1' }] }, guestNetwork(5)), undefined, 'the default route is less specific than any NFS network');
});

test("the tap moves into the pod's namespace and frames are redirected both ways; disconnecting takes the redirects off, and is harmless when the namespace is gone", { skip: needsRoot }, async () => {
  const { ns, path } = podNamespace();
  const tap = tapName(`sb-${process.pid}`, 0);
  sh(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  after(() => spawnSync('ip', ['link', 'del', tap]));
  await connectTap(exec, path, { name: 'eth0', mtu: 1450 }, tap);
  assert.doesNotMatch(sh(['ip', '-o', 'link']), new RegExp(tap), 'the tap left the host namespace');
  assert.match(inNs(ns, ['ip', '-o', 'link', 'show', 'dev', tap]), /mtu 1450 .*state (UP|DOWN|UNKNOWN)/);
  assert.match(inNs(ns, ['tc', 'filter', 'show', 'dev', 'eth0', 'ingress']), new RegExp(`Egress Redirect to device ${tap}`));
  assert.match(inNs(ns, ['tc', 'filter', 'show', 'dev', tap, 'ingress']), /Egress Redirect to device eth0/);
  // A new sandbox for the pod (after a crash gc has not seen) replaces the old redirect with its own.
  const next = tapName(`sb-${process.pid}-next`, 0);
  sh(['ip', 'tuntap', 'add', 'dev', next, 'mode', 'tap']);
  after(() => spawnSync('ip', ['link', 'del', next]));
  await connectTap(exec, path, { name: 'eth0', mtu: 1450 }, next);
  const filters = inNs(ns, ['tc', 'filter', 'show', 'dev', 'eth0', 'ingress']);
  assert.equal(filters.match(/Redirect/g)?.length, 1, filters);
  assert.match(filters, new RegExp(`Redirect to device ${next}`));

  await disconnectPodNetwork(exec, path, ['eth0']);
  assert.doesNotMatch(inNs(ns, ['tc', 'qdisc', 'show', 'dev', 'eth0']), /ingress/, "the pod's interface is as CNI left it");
  await disconnectPodNetwork(exec, '/var/run/netns/passvol-no-such-ns', ['eth0']);
});
