// Ops on the agent and the guest as a whole.
import { z } from 'zod';
import { Count, PROTOCOL_VERSION } from './primitives.js';

export const NoArgs = z.object({}).strict();

export const PingResult = z.object({
  /** The agent's version. */
  version: z.string(),
  protocol: z.literal(PROTOCOL_VERSION),
  uptimeMs: z.number().nonnegative(),
  /** The guest kernel's boot id: it changes when the guest reboots. */
  bootId: z.string(),
});

export const GuestInfoResult = z.object({
  memTotalKiB: Count,
  memAvailableKiB: Count,
  agentRssKiB: Count,
  loadavg: z.tuple([z.number(), z.number(), z.number()]),
});
