// freezeContainer: stops every process of a container where it is, or lets it go on (containerd's Pause, Resume).
import { containerKey, type Handler } from './handler.js';

export const freezeContainer: Handler<'freezeContainer'> = (args, ctx) =>
  ctx.locks.run(containerKey(args.containerId), async () => {
    await ctx.containers.freeze(args.containerId, args.frozen);
    return {};
  });
