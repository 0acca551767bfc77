// ping: the agent's version, uptime and the guest's boot id (which changes when the guest reboots).
import { readFile } from 'node:fs/promises';
import { AGENT_VERSION } from '../config.js';
import type { Handler } from './handler.js';

let bootId: string | undefined;

export const ping: Handler<'ping'> = async (_args, ctx) => {
  bootId ??= (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
  return { version: AGENT_VERSION, protocol: 1, uptimeMs: Date.now() - ctx.startedAt, bootId };
};
