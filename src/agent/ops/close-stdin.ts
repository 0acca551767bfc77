// closeStdin: ends the process's stdin (it sees EOF).
import type { Handler } from './handler.js';

export const closeStdin: Handler<'closeStdin'> = async (args, ctx) => {
  ctx.containers.closeStdin(args.containerId, args.execId);
  return {};
};
