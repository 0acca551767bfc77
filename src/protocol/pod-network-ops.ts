// The pod's own network in the guest: the interfaces CNI gave the pod's network namespace, each reaching
// the guest as a NIC with the same MAC (the host redirects the namespace's interface to its tap), and the
// addresses and routes the guest gives them, copied from the namespace. No DHCP: the guest takes what CNI
// assigned, as Kata's agent does.
import { isIP } from 'node:net';
import { z } from 'zod';

/** Interface names as Linux allows them (15 bytes, no slash or space). */
export const InterfaceName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'an interface name: 1-15 characters of [A-Za-z0-9_.-]');

/** A unicast Ethernet address, lower case (the pod interface's own). */
export const UnicastMac = z
  .string()
  .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'a MAC address aa:bb:cc:dd:ee:ff, lower case')
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, 'a unicast MAC address (the first octet even)');

export const IpAddress = z.string().refine((s) => isIP(s) !== 0, 'an IPv4 or IPv6 address');

/** An address with its prefix length: 10.88.0.5/16, fd00::5/64. */
export const Cidr = z.string().refine((s) => {
  const [ip, len, ...rest] = s.split('/');
  const family = isIP(ip ?? '');
  return rest.length === 0 && family !== 0 && /^\d{1,3}$/.test(len ?? '') && Number(len) <= (family === 4 ? 32 : 128);
}, 'an address with its prefix length (10.88.0.5/16, fd00::5/64)');

export const PodInterface = z
  .object({
    /** Its name in the pod's namespace, which the guest NIC takes too (eth0 for CNI's usual interface). */
    name: InterfaceName,
    mac: UnicastMac,
    mtu: z.number().int().min(68).max(65535),
    addresses: z.array(Cidr).max(32),
  })
  .strict();
export type PodInterface = z.infer<typeof PodInterface>;

export const PodRoute = z
  .object({
    /** `default`, a network (10.96.0.0/12) or a host address. */
    destination: z.union([z.literal('default'), Cidr, IpAddress]),
    family: z.enum(['inet', 'inet6']),
    gateway: IpAddress.optional(),
    /** Which pod interface it leaves by. */
    device: InterfaceName,
    scope: z.enum(['global', 'link', 'host']).optional(),
    source: IpAddress.optional(),
    /** Kept, so that two routes to one destination (a second default) both go in. */
    metric: z.number().int().min(0).max(4294967295).optional(),
  })
  .strict();
export type PodRoute = z.infer<typeof PodRoute>;

export const SetupPodNetworkArgs = z
  .object({
    /** How long the agent waits for each NIC to appear (they are hot-plugged). */
    waitMs: z.number().int().min(0).max(60_000).default(10_000),
    interfaces: z.array(PodInterface).min(1).max(8),
    /** Applied in order: a gateway's own network comes before the routes through it. */
    routes: z.array(PodRoute).max(128).default([]),
  })
  .strict()
  .refine((a) => new Set(a.interfaces.map((i) => i.name)).size === a.interfaces.length, 'interface names must differ')
  .refine((a) => new Set(a.interfaces.map((i) => i.mac)).size === a.interfaces.length, 'interface MACs must differ')
  .refine((a) => a.routes.every((r) => a.interfaces.some((i) => i.name === r.device)), "every route's device must be one of the interfaces");

export const SetupPodNetworkResult = z.object({
  /** The guest's names for the interfaces, in the order asked. */
  interfaces: z.array(z.object({ name: z.string(), mac: z.string() })),
});
