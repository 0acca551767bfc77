// setupNetwork: in a VM restored from a template the NIC for the NFS forwards is hot-plugged after the
// restore, when init has long finished; so the agent waits for it to appear and configures it as init
// would have at boot (QEMU's fixed guest address, no DHCP). Idempotent: an address already there is fine.
import { stat } from 'node:fs/promises';
import { AgentError, GUEST_NETWORK_ADDRESS, GUEST_NIC } from '../../protocol/index.js';
import type { Handler } from './handler.js';

const POLL_MS = 50;

export const setupNetwork: Handler<'setupNetwork'> = async (args, ctx) => {
  const sysfs = ctx.paths.toHost(`/sys/class/net/${GUEST_NIC}`);
  const deadline = performance.now() + args.waitMs;
  while (!(await stat(sysfs).then(() => true, () => false))) {
    if (performance.now() >= deadline) throw new AgentError('NOT_FOUND', `no ${GUEST_NIC} after ${args.waitMs} ms: was the network hot-plugged?`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  await ctx.run('ip', ['addr', 'add', GUEST_NETWORK_ADDRESS, 'dev', GUEST_NIC]).catch((e: unknown) => {
    if (!/exists/i.test((e as Error).message)) throw e;
  });
  await ctx.run('ip', ['link', 'set', GUEST_NIC, 'up']);
  ctx.log.info({ interface: GUEST_NIC, address: GUEST_NETWORK_ADDRESS }, 'network up');
  return { interface: GUEST_NIC, address: GUEST_NETWORK_ADDRESS };
};
