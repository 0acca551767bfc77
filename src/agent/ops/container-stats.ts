// containerStats: the figures of a container's cgroup (CPU time, memory, OOM kills, pids), for CRI's stats.
import type { Handler } from './handler.js';

export const containerStats: Handler<'containerStats'> = async (args, ctx) => ctx.containers.stats(args.containerId);
