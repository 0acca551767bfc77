// startProcess: the init process (no `process` given) or an exec in the running container; returns its pid.
import { containerKey, type Handler } from './handler.js';

export const startProcess: Handler<'startProcess'> = (args, ctx) =>
  ctx.locks.run(containerKey(args.containerId), async () => ({
    pid: await ctx.containers.start(args.containerId, args.execId, args.process),
  }));
