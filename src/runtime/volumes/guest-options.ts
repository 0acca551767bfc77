// Mount options for the guest from a record: entries split on commas (Kata records may hold "rw,noatime" as
// one entry), what only makes sense on the host dropped, and a read-only container mount made read-only
// for the whole guest mount (ro replaces rw: the agent refuses a list holding both).
const HOST_ONLY = new Set(['bind', 'rbind', 'defaults']);

export function guestMountOptions(recordOptions: readonly string[] | null | undefined, readonly: boolean): string[] {
  const out: string[] = [];
  for (const o of (recordOptions ?? []).flatMap((x) => x.split(',')).map((x) => x.trim())) {
    if (!o || HOST_ONLY.has(o) || out.includes(o)) continue;
    if (readonly && o === 'rw') continue;
    out.push(o);
  }
  if (readonly && !out.includes('ro')) out.push('ro');
  return out;
}
