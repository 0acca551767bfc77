// ListVolumes/ListSnapshots paging: the token is the index of the next entry; a token we did not hand out
// is ABORTED, as the CSI spec asks.
import { PassvolError, invalidArgument } from '../../common/errors.js';

export function page<T>(items: readonly T[], startingToken: string, maxEntries: number): { entries: T[]; next_token: string } {
  if (maxEntries < 0) throw invalidArgument('max_entries must not be negative');
  let start = 0;
  if (startingToken) {
    if (!/^\d+$/.test(startingToken) || Number(startingToken) > items.length) {
      throw new PassvolError('PV_ERR_VOLUME_BUSY', `starting_token "${startingToken}" is not one this driver handed out; list again from the start`);
    }
    start = Number(startingToken);
  }
  const end = maxEntries > 0 ? Math.min(items.length, start + maxEntries) : items.length;
  return { entries: items.slice(start, end), next_token: end < items.length ? String(end) : '' };
}
