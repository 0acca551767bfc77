// signal: delivers a signal to the container process itself (not its launcher); with `all`, to every
// process in the container's PID namespace.
import type { Handler } from './handler.js';

export const signal: Handler<'signal'> = async (args, ctx) => {
  if (args.all) await ctx.containers.signalAll(args.containerId, args.signal);
  else ctx.containers.signal(args.containerId, args.execId, args.signal);
  return {};
};
