// At start-up the node side rebuilds its view from disk: records this driver wrote whose target path or
// device is gone belong to publishes that will never be unpublished, and are removed.
import { stat } from 'node:fs/promises';
import { RECORD_METADATA, type NodeContext } from './node-context.js';

export async function removeStaleRecords(ctx: NodeContext): Promise<string[]> {
  const removed: string[] = [];
  await ctx.records.sweepStaging();
  for (const entry of await ctx.records.list()) {
    const r = entry.record;
    if (!r || r.mountInfo.metadata?.[RECORD_METADATA.driver] !== ctx.config.driverName) continue;
    const target = await stat(r.volumePath).catch(() => undefined);
    let why: string | undefined;
    if (!target) why = 'target path is gone';
    else if (r.mountInfo['volume-type'] !== 'nfs') {
      const dev = await stat(r.mountInfo.device).catch(() => undefined);
      if (!dev?.isBlockDevice()) why = `device ${r.mountInfo.device} is gone`;
    }
    if (!why) continue;
    await ctx.records.remove(r.volumePath);
    removed.push(r.volumePath);
    ctx.log.info({ volumePath: r.volumePath, volumeId: r.mountInfo.metadata?.[RECORD_METADATA.volumeId], why }, 'removed stale direct-volume record');
  }
  return removed;
}
