// writeStdin: base64 data to the process's stdin; resolves once written to the pipe.
import type { Handler } from './handler.js';

export const writeStdin: Handler<'writeStdin'> = async (args, ctx) => ({
  bytes: await ctx.containers.writeStdin(args.containerId, args.execId, Buffer.from(args.data, 'base64')),
});
