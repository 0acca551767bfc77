// createContainer: registers the container and binds its volumes into the rootfs; runs nothing yet.
import { containerKey, type Handler } from './handler.js';

export const createContainer: Handler<'createContainer'> = (args, ctx) =>
  ctx.locks.run(containerKey(args.containerId), async () => {
    await ctx.containers.create(args);
    return {};
  });
