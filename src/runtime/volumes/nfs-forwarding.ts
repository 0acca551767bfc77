// How a guest reaches an NFS server named in a record. A guest network is QEMU user networking with
// restrict=on: the guest reaches nothing but the forwards we declare. Each distinct server gets a guest-side
// address on it (10.0.2.100, .101, ... on network 0) whose NFS (2049) and MOUNT (20048) ports QEMU connects,
// from the host, to that server. On the host this is ordinary client traffic (loopback for the embedded
// server). A sandbox boots with network 0 for its own container's servers; servers an added container
// brings get a network of their own (protocol/guest-contract.ts), since forwards cannot be added to a
// running user network.
import { lookup } from 'node:dns/promises';
import { invalidArgument } from '../../common/errors.js';
import { guestNetwork, type GuestNetwork } from '../../protocol/index.js';

export const NFS_PORT = 2049;
export const MOUNT_PORT = 20048;
const FIRST_FORWARD = 100;
/** Forwards on one guest network: .100 to .149. */
export const MAX_SERVERS_PER_NETWORK = 50;

export interface NfsForward {
  /** The server as the record names it. */
  server: string;
  /** Its IPv4 address, which QEMU connects to from the host. */
  hostAddress: string;
  guestAddress: string;
  /** The guest's own address on the network the forward is on (NFSv4's clientaddr). */
  clientAddress: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The IPv4 address QEMU should connect to for a server: a literal as it is, a name resolved on the host
 * (the guest has no DNS). IPv6 is refused: QEMU's user-mode forwards reach IPv4 only.
 */
export async function serverAddress(server: string, resolve: (name: string) => Promise<string> = lookupIpv4): Promise<string> {
  if (IPV4.test(server)) return server;
  if (server.includes(':')) throw invalidArgument(`NFS server ${server} is an IPv6 address; the sandbox's NFS forward reaches IPv4 servers only`);
  try {
    return await resolve(server);
  } catch (e) {
    throw invalidArgument(`NFS server ${server} does not resolve to an IPv4 address on this host: ${(e as Error).message}`);
  }
}

async function lookupIpv4(name: string): Promise<string> {
  return (await lookup(name, { family: 4 })).address;
}

/** "server:/path" -> parts; IPv6 servers are written in brackets. */
export function splitNfsDevice(device: string): { server: string; path: string } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\/.*)$/.exec(device);
  if (!m) throw invalidArgument(`NFS device "${device}" is not server:/absolute/path`);
  return { server: (m[1] as string).replace(/^\[|\]$/g, ''), path: m[2] as string };
}

/** A forward for each distinct server, on guest network `network`. */
export async function planForwards(servers: readonly string[], resolve?: (name: string) => Promise<string>, network: GuestNetwork = guestNetwork(0)): Promise<NfsForward[]> {
  const unique = [...new Set(servers)];
  if (unique.length > MAX_SERVERS_PER_NETWORK) throw invalidArgument(`a container's volumes can name at most ${MAX_SERVERS_PER_NETWORK} NFS servers`);
  const clientAddress = network.address.split('/')[0] as string;
  return Promise.all(unique.map(async (server, i) => ({ server, hostAddress: await serverAddress(server, resolve), guestAddress: `${network.prefix}.${FIRST_FORWARD + i}`, clientAddress })));
}

/**
 * Mount options for the guest: the record's options, with the address, ports and protocol pinned to the
 * forward (no rpcbind or DNS in the guest, and only TCP is forwarded).
 */
export function guestNfsOptions(recordOptions: readonly string[], fstype: string, forward: NfsForward): string[] {
  const pinned = new Set(['addr', 'port', 'mountport', 'mountproto', 'proto', 'clientaddr', 'mountaddr']);
  const kept = recordOptions.flatMap((o) => o.split(',')).map((o) => o.trim()).filter((o) => o && !pinned.has(o.split('=')[0] as string));
  const common = [`addr=${forward.guestAddress}`, 'proto=tcp', `port=${NFS_PORT}`];
  if (fstype === 'nfs4') return [...kept, ...common, `clientaddr=${forward.clientAddress}`];
  return [...kept.filter((o) => o !== 'lock'), ...common, `mountport=${MOUNT_PORT}`, 'mountproto=tcp', ...(kept.includes('nolock') ? [] : ['nolock'])];
}
