// setupNetwork: a NIC for NFS forwards that was hot-plugged after init finished (network 0 of a VM restored
// from a template, or a later network for an added container's NAS servers). The agent waits for the NIC
// with the runtime's MAC to appear and gives it its fixed address, as init does at boot (no DHCP).
// Idempotent: an address already there is fine.
import { readdir, readFile } from 'node:fs/promises';
import { AgentError } from '../../protocol/index.js';
import type { Handler } from './handler.js';

const POLL_MS = 50;

/** The interface whose MAC address is `mac`, if the kernel shows one yet. */
async function interfaceWithMac(netDir: string, mac: string): Promise<string | undefined> {
  for (const name of await readdir(netDir).catch(() => [] as string[])) {
    const address = await readFile(`${netDir}/${name}/address`, 'utf8').catch(() => '');
    if (address.trim().toLowerCase() === mac) return name;
  }
  return undefined;
}

export const setupNetwork: Handler<'setupNetwork'> = async (args, ctx) => {
  const netDir = ctx.paths.toHost('/sys/class/net');
  const deadline = performance.now() + args.waitMs;
  let nic: string | undefined;
  while (!(nic = await interfaceWithMac(netDir, args.mac))) {
    if (performance.now() >= deadline) throw new AgentError('NOT_FOUND', `no network interface with MAC ${args.mac} after ${args.waitMs} ms: was the NIC hot-plugged?`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  await ctx.run('ip', ['addr', 'add', args.address, 'dev', nic]).catch((e: unknown) => {
    if (!/exists/i.test((e as Error).message)) throw e;
  });
  await ctx.run('ip', ['link', 'set', nic, 'up']);
  ctx.log.info({ interface: nic, address: args.address, mac: args.mac }, 'network up');
  return { interface: nic, address: args.address };
};
