// Requests are logged without their secrets: every `secrets` map keeps its keys, loses its values.
export const STRIPPED = '***stripped***';

export function stripSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'secrets' && v && typeof v === 'object') out[k] = Object.fromEntries(Object.keys(v).map((key) => [key, STRIPPED]));
    else out[k] = stripSecrets(v);
  }
  return out;
}
