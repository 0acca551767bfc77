// deleteContainer: refuses while processes run (unless force: SIGKILL), then unbinds the volumes.
import { containerKey, type Handler } from './handler.js';

export const deleteContainer: Handler<'deleteContainer'> = (args, ctx) =>
  ctx.locks.run(containerKey(args.containerId), async () => {
    await ctx.containers.delete(args.containerId, args.force ?? false);
    return {};
  });
