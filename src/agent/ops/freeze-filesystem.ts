// freezeFilesystem / thawFilesystem: a passed-through disk's filesystem held still while the host copies the
// disk for a snapshot (the lease and its bookkeeping are in filesystem-freezes.ts).
import { AgentError } from '../../protocol/index.js';
import { checkGuestPath } from '../guest-paths.js';
import { mountAt } from '../mount-table.js';
import { mountKey, type Handler } from './handler.js';

export const freezeFilesystem: Handler<'freezeFilesystem'> = (args, ctx) => {
  const path = checkGuestPath(args.path, 'freezeFilesystem path');
  return ctx.locks.run(mountKey(path), async () => {
    const host = ctx.paths.toHost(path);
    if (!(await mountAt(host))) throw new AgentError('NOT_FOUND', `nothing is mounted at ${path}`);
    if (args.renew) ctx.freezes.renew(host, args.leaseMs);
    else await ctx.freezes.freeze(host, args.leaseMs);
    return {};
  });
};

export const thawFilesystem: Handler<'thawFilesystem'> = (args, ctx) => {
  const path = checkGuestPath(args.path, 'thawFilesystem path');
  return ctx.locks.run(mountKey(path), async () => ({ heldThroughout: await ctx.freezes.thaw(ctx.paths.toHost(path)) }));
};
