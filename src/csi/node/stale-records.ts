// At start-up the node side rebuilds its view from disk: records this driver wrote whose target path or
// device is gone belong to publishes that will never be unpublished, and are removed.
import { lstat, readdir, readlink, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { claimDir, claimName } from './publish-index.js';
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
      const volumeId = r.mountInfo.metadata?.[RECORD_METADATA.volumeId];
      if (!dev?.isBlockDevice()) why = `device ${r.mountInfo.device} is gone`;
      // /dev/loopN exists whether or not it is bound, and may hold another disk now: ask the backend.
      else if (volumeId && ctx.backend.deviceIsVolume && !(await ctx.backend.deviceIsVolume(volumeId, r.mountInfo.device).catch(() => true))) why = `device ${r.mountInfo.device} is no longer volume ${volumeId}`;
    }
    if (!why) continue;
    await ctx.records.remove(r.volumePath);
    removed.push(r.volumePath);
    ctx.log.info({ volumePath: r.volumePath, volumeId: r.mountInfo.metadata?.[RECORD_METADATA.volumeId], why }, 'removed stale direct-volume record');
  }
  await sweepIndex(ctx);
  return removed;
}

/**
 * A claim is written just before its record, so a claim without a record may be a publish in flight: only
 * claims older than this are judged.
 */
export const CLAIM_GRACE_MS = 60_000;

/**
 * Claims whose target holds no record of that volume are leftovers of a crash or of a removed record. Only
 * this driver's folder is swept: the other driver's claims are for it to judge.
 */
async function sweepIndex(ctx: NodeContext, now = Date.now()): Promise<void> {
  const dir = claimDir(ctx.records.root, ctx.config.driverName);
  const stale = async (name: string): Promise<boolean> => {
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isSymbolicLink() || now - st.mtimeMs < CLAIM_GRACE_MS) return false;
    const target = await readlink(path).catch(() => undefined);
    const record = target ? await ctx.records.find(target).catch(() => undefined) : undefined;
    const id = record?.mountInfo.metadata?.[RECORD_METADATA.volumeId];
    return id === undefined || claimName(id) !== name;
  };
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!(await stale(name))) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    ctx.log.info({ claim: join(dir, name) }, 'removed a stale one-target claim');
  }
}
