// statfs: usage of the filesystem mounted at a guest path (never of whatever happens to hold the directory).
import { AgentError } from '../../protocol/index.js';
import { fsUsage } from '../fs-usage.js';
import { checkGuestPath } from '../guest-paths.js';
import { mountAt } from '../mount-table.js';
import type { Handler } from './handler.js';

export const statfs: Handler<'statfs'> = async (args, ctx) => {
  const path = checkGuestPath(args.path, 'statfs path');
  const host = ctx.paths.toHost(path);
  if (!(await mountAt(host))) throw new AgentError('NOT_FOUND', `nothing is mounted at ${path}`);
  return fsUsage(host);
};
