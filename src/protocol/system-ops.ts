// Ops on the agent and the guest as a whole.
import { z } from 'zod';
import { Count, PROTOCOL_VERSION } from './primitives.js';
import { GUEST_MAC, GUEST_NETWORK_ADDRESS, guestNetwork, MAX_GUEST_NETWORKS } from './guest-contract.js';

export const NoArgs = z.object({}).strict();

export const PingResult = z.object({
  /** The agent's version. */
  version: z.string(),
  protocol: z.literal(PROTOCOL_VERSION),
  uptimeMs: z.number().nonnegative(),
  /** The guest kernel's boot id: it changes when the guest reboots. */
  bootId: z.string(),
  /** Whether init has loaded every kernel module (a VM template is saved only then). */
  modulesReady: z.boolean().optional(),
});

/** The host's clock, for a guest that did not boot but was restored from a VM template. */
export const SetClockArgs = z.object({ epochMs: z.number().int().positive() }).strict();
export const SetClockResult = z.object({
  /** How far the guest's clock was from the host's before (positive: it was behind). */
  wasBehindMs: z.number(),
});

export const GuestInfoResult = z.object({
  memTotalKiB: Count,
  memAvailableKiB: Count,
  agentRssKiB: Count,
  loadavg: z.tuple([z.number(), z.number(), z.number()]),
});

/**
 * Brings up a hot-plugged NIC for NFS forwards once it appears: the one with this MAC gets this address
 * (network 0's by default: the NIC of a VM restored from a template).
 */
const GUEST_NETWORKS = Array.from({ length: MAX_GUEST_NETWORKS }, (_, i) => guestNetwork(i));
export const SetupNetworkArgs = z
  .object({
    waitMs: z.number().int().min(0).max(60_000).default(10_000),
    mac: z.string().regex(/^52:54:00(:[0-9a-f]{2}){3}$/, 'a locally administered QEMU MAC (52:54:00:xx:xx:xx), lower case').default(GUEST_MAC),
    address: z.string().default(GUEST_NETWORK_ADDRESS),
  })
  .strict()
  .refine((a) => GUEST_NETWORKS.some((n) => n.mac === a.mac && n.address === a.address), "mac and address must be one guest network's (10.0.N.15/24 with its MAC)");
export const SetupNetworkResult = z.object({ interface: z.string(), address: z.string() });
