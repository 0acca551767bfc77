// setupNetwork: a NIC for NFS forwards that was hot-plugged after init finished (network 0 of a VM restored
// from a template, or a later network for an added container's NAS servers). The agent waits for the NIC
// with the runtime's MAC to appear and gives it its fixed address, as init does at boot (no DHCP).
// Idempotent: an address already there is fine.
import { waitForInterface } from '../net-interfaces.js';
import type { Handler } from './handler.js';

export const setupNetwork: Handler<'setupNetwork'> = async (args, ctx) => {
  const nic = await waitForInterface(ctx.paths.toHost('/sys/class/net'), args.mac, args.waitMs);
  await ctx.run('ip', ['addr', 'add', args.address, 'dev', nic]).catch((e: unknown) => {
    if (!/exists/i.test((e as Error).message)) throw e;
  });
  await ctx.run('ip', ['link', 'set', nic, 'up']);
  ctx.log.info({ interface: nic, address: args.address, mac: args.mac }, 'network up');
  return { interface: nic, address: args.address };
};
