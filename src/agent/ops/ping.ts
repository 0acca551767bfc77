// ping: the agent's version, its uptime (monotonic: setClock may step the wall clock either way), the
// guest's boot id (which changes when the guest reboots), and whether init has loaded every module yet.
import { readFile, stat } from 'node:fs/promises';
import { MODULES_READY_MARK, PROTOCOL_VERSION } from '../../protocol/index.js';
import { AGENT_VERSION } from '../config.js';
import type { Handler } from './handler.js';

let bootId: string | undefined;

export const ping: Handler<'ping'> = async (_args, ctx) => {
  bootId ??= (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
  const modulesReady = await stat(ctx.paths.toHost(MODULES_READY_MARK)).then(() => true, () => false);
  return { version: AGENT_VERSION, protocol: PROTOCOL_VERSION, uptimeMs: Math.round(performance.now()), bootId, modulesReady };
};
