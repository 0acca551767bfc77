// unmount: idempotent (nothing mounted is success); refused while a container still has the volume bound.
import { rmdir } from 'node:fs/promises';
import { AgentError } from '../../protocol/index.js';
import { checkGuestPath } from '../guest-paths.js';
import { mountAt } from '../mount-table.js';
import { mountKey, type Handler } from './handler.js';

export const unmount: Handler<'unmount'> = (args, ctx) => {
  const target = checkGuestPath(args.target, 'unmount target');
  return ctx.locks.run(mountKey(target), async () => {
    const host = ctx.paths.toHost(target);
    const users = ctx.containers.usersOf(host);
    if (users.length > 0) throw new AgentError('FAILED_PRECONDITION', `${target} is bound into container(s) ${users.join(', ')}; delete them first`);
    if (await mountAt(host)) {
      // A snapshot in progress loses its freeze (its thaw will say so) rather than blocking the unmount.
      if (ctx.freezes.isFrozen(host)) await ctx.freezes.thaw(host);
      await ctx.run('umount', [host], { failureCode: 'FAILED_PRECONDITION' });
      ctx.log.info({ target }, 'unmounted');
    }
    ctx.mounted.delete(target);
    await rmdir(host).catch(() => undefined);
    return {};
  });
};
