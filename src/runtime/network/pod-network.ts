// The pod's network, passed to its VM the way Kata's default (tcfilter) model does it: CNI set up an
// interface (a veth, usually eth0) in the pod's network namespace; the VM gets a tap with the same MAC, the
// tap is moved into that namespace, and two tc filters redirect every frame between the interface and the
// tap. The guest then takes the interface's addresses and routes (no DHCP, nothing re-assigned), so the
// pod keeps the address CNI gave it and its traffic leaves through the same veth, subject to the same
// policies. The namespace is only read and filtered, never re-addressed: CNI's DEL still finds its veth.
//
// QEMU creates each tap in the host's namespace (it opens it by name); only then is the tap moved, which
// keeps QEMU's file descriptor working. A tap goes away with QEMU; the filters on the pod's interface are
// removed at teardown (or by `passvol gc`), as the sandbox state lists them.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { failedPrecondition, invalidArgument } from '../../common/errors.js';
import type { Exec } from '../../common/exec.js';
import { SetupPodNetworkArgs, type GuestNetwork, type PodInterface, type PodRoute } from '../../protocol/index.js';
import type { OciSpec } from '../oci/bundle.js';

/** What the sandbox passes: the namespace, and per interface the tap that carries it. */
export interface PodNetwork {
  netns: string;
  interfaces: (PodInterface & { tap: string })[];
  routes: PodRoute[];
  /** Routes of the namespace the guest does not get (multipath, or not unicast), to say so. */
  skipped: string[];
}

/** The network namespace the bundle asks to join (CRI's pod namespace), if it names one by path. */
export function podNetnsOf(spec: OciSpec): string | undefined {
  const ns = spec.linux?.namespaces.find((n) => n.type === 'network');
  if (!ns?.path) return undefined;
  if (!ns.path.startsWith('/')) throw invalidArgument(`linux.namespaces: network namespace path ${ns.path} must be absolute`);
  return ns.path;
}

/** The host's name of the tap for a sandbox's n-th pod interface: unique per sandbox, at most 15 bytes. */
export function tapName(sandboxId: string, index: number): string {
  return `pvt${createHash('sha256').update(sandboxId).digest('hex').slice(0, 8)}${index}`;
}

const IpAddr = z.array(
  z
    .object({
      ifname: z.string(),
      flags: z.array(z.string()).default([]),
      mtu: z.number().int(),
      link_type: z.string().optional(),
      address: z.string().optional(),
      addr_info: z.array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number().int(), scope: z.string().optional() }).passthrough()).default([]),
    })
    .passthrough(),
);
const IpRoute = z.array(
  z
    .object({
      dst: z.string(),
      gateway: z.string().optional(),
      dev: z.string().optional(),
      protocol: z.string().optional(),
      scope: z.string().optional(),
      prefsrc: z.string().optional(),
      type: z.string().optional(),
      metric: z.number().int().optional(),
    })
    .passthrough(),
);

function inNetns(exec: Exec, netns: string, cmd: string, args: readonly string[]) {
  return exec.run('nsenter', [`--net=${netns}`, '--', cmd, ...args], { timeoutMs: 10_000 });
}

async function ipJson<T>(exec: Exec, netns: string, args: readonly string[], schema: z.ZodType<T, z.ZodTypeDef, unknown>): Promise<T> {
  const { stdout } = await inNetns(exec, netns, 'ip', ['-j', ...args]);
  const parsed = schema.safeParse(JSON.parse(stdout || '[]'));
  if (!parsed.success) throw failedPrecondition(`ip ${args.join(' ')} in ${netns} printed what passvol cannot read: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Reads what CNI gave the pod: each Ethernet interface that is up with a global address (its name, MAC,
 * MTU and addresses), and the routes through them that the addresses alone do not make. Routes without a
 * gateway come first, so that a gateway is reachable before a route through it is added.
 */
export async function readPodNetwork(exec: Exec, sandboxId: string, netns: string): Promise<PodNetwork | undefined> {
  // The host's own namespace (a bundle written by hand, `ctr --net-host` style) must not be redirected into a VM.
  const [pod, host] = await Promise.all([stat(netns).catch(() => undefined), stat('/proc/self/ns/net')]);
  if (pod && pod.ino === host.ino && pod.dev === host.dev) throw failedPrecondition(`${netns} is the host's network namespace: a sandbox VM cannot join it (give the pod a namespace of its own, or none)`);
  const links = await ipJson(exec, netns, ['addr', 'show'], IpAddr).catch((e: Error) => {
    throw failedPrecondition(`cannot read the pod's network namespace ${netns}: ${e.message}`);
  });
  const chosen = links.filter((l) => l.ifname !== 'lo' && l.link_type === 'ether' && l.flags.includes('UP') && l.addr_info.some((a) => a.scope === 'global'));
  if (chosen.length === 0) return undefined;
  const interfaces = chosen.map((l, i) => ({
    name: l.ifname,
    mac: (l.address ?? '').toLowerCase(),
    mtu: l.mtu,
    addresses: l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
    tap: tapName(sandboxId, i),
  }));
  const names = new Set(interfaces.map((i) => i.name));
  const routes: PodRoute[] = [];
  const skipped: string[] = [];
  for (const family of ['inet', 'inet6'] as const) {
    const table = await ipJson(exec, netns, [...(family === 'inet6' ? ['-6'] : []), 'route', 'show'], IpRoute);
    for (const r of table) {
      if (r.protocol === 'kernel' || (r.dev && !names.has(r.dev))) continue;
      if (!r.dev || (r.type !== undefined && r.type !== 'unicast')) {
        skipped.push(`${family} ${r.dst} (${r.type !== undefined && r.type !== 'unicast' ? r.type : 'multipath'})`);
        continue;
      }
      routes.push({
        destination: r.dst,
        family,
        device: r.dev,
        ...(r.gateway ? { gateway: r.gateway } : {}),
        ...(r.scope === 'link' || r.scope === 'host' ? { scope: r.scope } : {}),
        ...(r.prefsrc ? { source: r.prefsrc } : {}),
        ...(r.metric !== undefined ? { metric: r.metric } : {}),
      });
    }
  }
  routes.sort((a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined));
  const network: PodNetwork = { netns, interfaces, routes, skipped };
  // The same checks the agent makes, before anything is plugged.
  const checked = SetupPodNetworkArgs.safeParse({ interfaces: interfaces.map(({ tap: _tap, ...i }) => i), routes });
  if (!checked.success) throw failedPrecondition(`the pod's network in ${netns} cannot be passed to the guest: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return network;
}

/** The first and last address of an IPv4 address (`a.b.c.d`) or network (`a.b.c.d/len`); undefined for IPv6. */
function ipv4Range(cidr: string): [number, number] | undefined {
  const [ip = '', len] = cidr.split('/');
  if (isIP(ip) !== 4) return undefined;
  const size = 2 ** (32 - (len === undefined ? 32 : Number(len)));
  const first = Math.floor(ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0) / size) * size;
  return [first, first + size - 1];
}

/**
 * What of the pod's network a guest NFS network (`<prefix>.0/24`, a link of its own in the guest) would
 * shadow: a pod subnet or route destination that overlaps it (the default route does not count: the NFS
 * network is more specific only for its own /24). Undefined when they do not meet.
 */
export function podNetworkOverlap(net: Pick<PodNetwork, 'interfaces' | 'routes'>, network: GuestNetwork): string | undefined {
  const [first, last] = ipv4Range(`${network.prefix}.0/24`) as [number, number];
  const candidates = [...net.interfaces.flatMap((i) => i.addresses), ...net.routes.map((r) => r.destination).filter((d) => d !== 'default')];
  return candidates.find((c) => {
    const r = ipv4Range(c);
    return r !== undefined && r[0] <= last && r[1] >= first;
  });
}

/** Moves a tap QEMU opened into the pod's namespace and redirects every frame between it and `iface`. */
export async function connectTap(exec: Exec, netns: string, iface: { name: string; mtu: number }, tap: string): Promise<void> {
  await exec.run('ip', ['link', 'set', 'dev', tap, 'netns', netns], { timeoutMs: 10_000 });
  await inNetns(exec, netns, 'ip', ['link', 'set', 'dev', tap, 'mtu', String(iface.mtu), 'up']);
  for (const [from, to] of [
    [iface.name, tap],
    [tap, iface.name],
  ] as const) {
    // A filter left by an earlier sandbox of this pod (a crash gc has not seen) goes with its qdisc.
    await inNetns(exec, netns, 'tc', ['qdisc', 'del', 'dev', from, 'ingress']).catch(() => undefined);
    await inNetns(exec, netns, 'tc', ['qdisc', 'add', 'dev', from, 'ingress']);
    await inNetns(exec, netns, 'tc', ['filter', 'add', 'dev', from, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u8', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', to]);
  }
}

/**
 * Takes the redirects off the pod's interfaces once the VM is gone, so the namespace is as CNI left it.
 * Best effort: a namespace or interface already gone (CRI tore the pod down first) has nothing to undo.
 */
export async function disconnectPodNetwork(exec: Exec, netns: string, interfaces: readonly string[]): Promise<void> {
  for (const name of interfaces) await inNetns(exec, netns, 'tc', ['qdisc', 'del', 'dev', name, 'ingress']).catch(() => undefined);
}
