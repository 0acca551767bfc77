// shutdown: stops every container, unmounts what the agent mounted, syncs, then ends the agent after the
// response is sent. The runtime asks for it before it stops the VM; should the VM go on, the guest's init starts
// a new agent, which announces itself, and the runtime takes the old agent's containers as gone.
import type { Handler } from './handler.js';

export const shutdown: Handler<'shutdown'> = async (_args, ctx) => {
  for (const id of ctx.containers.ids()) {
    await ctx.containers.delete(id, true).catch((err: unknown) => ctx.log.error({ err, containerId: id }, 'shutdown: cannot delete container'));
  }
  for (const target of [...ctx.mounted].reverse()) {
    await ctx.run('umount', [ctx.paths.toHost(target)]).catch((err: unknown) => ctx.log.error({ err, target }, 'shutdown: cannot unmount'));
    ctx.mounted.delete(target);
  }
  await ctx.run('sync', []).catch(() => undefined);
  ctx.requestShutdown();
  return {};
};
