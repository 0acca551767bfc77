// Mount options that travel to a guest: never bind/rbind (the guest would try a bind mount and fail),
// nosuid and nodev always (a volume must not give a container devices or setuid binaries), ro when asked.
const FORBIDDEN = new Set(['bind', 'rbind', 'suid', 'dev']);

export function guestMountOptions(flags: readonly string[], readonly: boolean): string[] {
  const out: string[] = [];
  for (const f of flags.flatMap((x) => x.split(','))) {
    const o = f.trim();
    if (!o || FORBIDDEN.has(o) || out.includes(o)) continue;
    if ((o === 'rw' && readonly) || (o === 'ro' && !readonly)) continue;
    out.push(o);
  }
  for (const o of [readonly ? 'ro' : 'rw', 'nosuid', 'nodev']) if (!out.includes(o)) out.push(o);
  return out;
}
