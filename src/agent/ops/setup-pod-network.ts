// setupPodNetwork: the pod's interfaces (CNI's, redirected to hot-plugged NICs by the host) get their names,
// MTUs and addresses, and the pod's routes are added, so that the containers see the network CNI set up for
// the pod. A NIC of the guest's NFS networks that holds a wanted name (eth0, named at boot) is renamed
// out of the way first: the agent finds those by MAC, so nothing depends on their names. Idempotent: an
// address or route already there is fine, so a retry after a timeout completes the work.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { AgentError, GUEST_MAC, NETWORK_READY_MARK, type PodRoute } from '../../protocol/index.js';
import { waitForInterface } from '../net-interfaces.js';
import type { AgentContext } from '../context.js';
import type { Handler } from './handler.js';

const alreadyThere = (e: unknown) => {
  if (!/exists/i.test((e as Error).message)) throw e;
};

/**
 * Frees `name` for a pod interface: the NIC that has it is renamed nfs0, nfs1, ... Network 0's NIC is
 * renamed only once init has given it its address (init finds it by MAC, but names it when adding it).
 */
async function freeName(ctx: AgentContext, netDir: string, name: string, waitMs: number): Promise<void> {
  if (!existsSync(`${netDir}/${name}`)) return;
  if ((await readFile(`${netDir}/${name}/address`, 'utf8').catch(() => '')).trim() === GUEST_MAC) {
    const deadline = performance.now() + waitMs;
    while (!existsSync(ctx.paths.toHost(NETWORK_READY_MARK))) {
      if (performance.now() >= deadline) throw new AgentError('UNAVAILABLE', `init has not brought up the NFS network after ${waitMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let i = 0;
  while (existsSync(`${netDir}/nfs${i}`)) i++;
  // A NIC is renamed only while down; up again, it gets its link route back (its address stays).
  await ctx.run('ip', ['link', 'set', 'dev', name, 'down']);
  await ctx.run('ip', ['link', 'set', 'dev', name, 'name', `nfs${i}`]);
  await ctx.run('ip', ['link', 'set', 'dev', `nfs${i}`, 'up']);
  ctx.log.info({ from: name, to: `nfs${i}` }, 'NFS network interface renamed for the pod');
}

function routeArgs(r: PodRoute): string[] {
  return [
    ...(r.family === 'inet6' ? ['-6'] : []),
    'route',
    'add',
    r.destination,
    ...(r.gateway ? ['via', r.gateway] : []),
    'dev',
    r.device,
    ...(r.scope ? ['scope', r.scope] : []),
    ...(r.source ? ['src', r.source] : []),
    ...(r.metric !== undefined ? ['metric', String(r.metric)] : []),
  ];
}

export const setupPodNetwork: Handler<'setupPodNetwork'> = async (args, ctx) => {
  const netDir = ctx.paths.toHost('/sys/class/net');
  const named: { name: string; mac: string }[] = [];
  for (const want of args.interfaces) {
    const nic = await waitForInterface(netDir, want.mac, args.waitMs);
    if (nic !== want.name) {
      await ctx.run('ip', ['link', 'set', 'dev', nic, 'down']);
      await freeName(ctx, netDir, want.name, args.waitMs);
      await ctx.run('ip', ['link', 'set', 'dev', nic, 'name', want.name]);
    }
    await ctx.run('ip', ['link', 'set', 'dev', want.name, 'mtu', String(want.mtu)]);
    // CNI assigned the addresses: no duplicate detection, which would leave an IPv6 address unusable (and a
    // route from it refused) for its first second. busybox's ip has no nodad, so the interface's setting.
    if (want.addresses.some((a) => a.includes(':'))) await writeFile(ctx.paths.toHost(`/proc/sys/net/ipv6/conf/${want.name}/accept_dad`), '0').catch(() => undefined);
    for (const a of want.addresses) await ctx.run('ip', [...(a.includes(':') ? ['-6'] : []), 'addr', 'add', a, 'dev', want.name]).catch(alreadyThere);
    await ctx.run('ip', ['link', 'set', 'dev', want.name, 'up']);
    named.push({ name: want.name, mac: want.mac });
  }
  for (const r of args.routes) await ctx.run('ip', routeArgs(r)).catch(alreadyThere);
  ctx.log.info({ interfaces: named.map((n) => n.name), routes: args.routes.length }, 'pod network up');
  return { interfaces: named };
};
