// wait: resolves when the process has exited (at once if it already has).
import type { Handler } from './handler.js';

export const wait: Handler<'wait'> = async (args, ctx) => ctx.containers.wait(args.containerId, args.execId);
