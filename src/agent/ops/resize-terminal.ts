// resizeTerminal: a process's terminal takes the client's window size (containerd's ResizePty).
import { containerKey, type Handler } from './handler.js';

export const resizeTerminal: Handler<'resizeTerminal'> = (args, ctx) =>
  ctx.locks.run(containerKey(args.containerId), async () => {
    await ctx.containers.resizeTerminal(args.containerId, args.execId, args.rows, args.cols);
    return {};
  });
