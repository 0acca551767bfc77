// signal: delivers a signal to the container process itself (not its launcher).
import type { Handler } from './handler.js';

export const signal: Handler<'signal'> = async (args, ctx) => {
  ctx.containers.signal(args.containerId, args.execId, args.signal);
  return {};
};
