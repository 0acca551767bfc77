// updateContainer: new limits for a container's cgroup (CRI's UpdateContainerResources, in-place pod resize).
import { containerKey, type Handler } from './handler.js';

export const updateContainer: Handler<'updateContainer'> = (args, ctx) =>
  ctx.locks.run(containerKey(args.containerId), async () => {
    await ctx.containers.update(args.containerId, args.resources);
    return {};
  });
