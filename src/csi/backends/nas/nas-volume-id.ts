// The NAS volume id carries everything needed to find and delete the volume, so the controller keeps no
// state (as csi-driver-nfs does): `nas#<server>#<share>#<subDir>#<onDelete>`, each field percent-escaped
// for `#` and `%` only. Decoding accepts only the canonical form, so decode(encode(x)) is x and every id
// names exactly one directory.
import { z } from 'zod';
import { notFound } from '../../../common/errors.js';
import { exportPathProblem, subDirProblem } from './nas-paths.js';

export const NAS_ID_PREFIX = 'nas';
export const ON_DELETE_POLICIES = ['delete', 'retain', 'archive'] as const;
export type OnDeletePolicy = (typeof ON_DELETE_POLICIES)[number];

/** Host name, IPv4, or bracketed IPv6 address; nothing a mount source could misread. */
export const SERVER_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])$/;

export const NasVolumeRefSchema = z
  .object({
    server: z.string().regex(SERVER_PATTERN, 'must be a host name, an IPv4 address or a [bracketed] IPv6 address'),
    share: z.string().superRefine((v, ctx) => {
      const why = exportPathProblem(v);
      if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: why });
    }),
    subDir: z.string().superRefine((v, ctx) => {
      const why = subDirProblem(v, true);
      if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: why });
    }),
    onDelete: z.enum(ON_DELETE_POLICIES),
  })
  .strict();
export type NasVolumeRef = z.infer<typeof NasVolumeRefSchema>;

const escapeField = (s: string) => s.replace(/%/g, '%25').replace(/#/g, '%23');

/** Undefined unless every escape is one of the two we write (keeps the encoding canonical). */
function unescapeField(s: string): string | undefined {
  if (/%(?!25|23)/.test(s)) return undefined;
  return s.replace(/%2[35]/g, (m) => (m === '%23' ? '#' : '%'));
}

export function encodeNasVolumeId(ref: NasVolumeRef): string {
  const checked = NasVolumeRefSchema.parse(ref);
  return [NAS_ID_PREFIX, checked.server, checked.share, checked.subDir, checked.onDelete].map(escapeField).join('#');
}

/** The volume a NAS id names, or why it is not one (a foreign id, or a damaged NAS id). */
export function decodeNasVolumeId(id: string): { ref: NasVolumeRef } | { problem: string } {
  const parts = id.split('#');
  if (parts[0] !== NAS_ID_PREFIX) return { problem: `"${id}" is not a NAS volume id (they start with "${NAS_ID_PREFIX}#")` };
  if (parts.length !== 5) return { problem: `NAS volume id "${id}" has ${parts.length} fields; expected 5 (nas#server#share#subDir#onDelete)` };
  const fields = parts.slice(1).map(unescapeField);
  const [server, share, subDir, onDelete] = fields;
  if (fields.some((f) => f === undefined)) return { problem: `NAS volume id "${id}" has a bad %-escape (only %23 and %25 are used)` };
  const r = NasVolumeRefSchema.safeParse({ server, share, subDir, onDelete });
  if (!r.success) return { problem: `NAS volume id "${id}" is damaged: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` };
  return { ref: r.data };
}

/** The volume a NAS id names, or undefined for anything else. */
export function parseNasVolumeId(id: string): NasVolumeRef | undefined {
  const r = decodeNasVolumeId(id);
  return 'ref' in r ? r.ref : undefined;
}

/** The volume a NAS id names; NotFound (with the reason) for anything else. */
export function requireNasVolumeId(id: string): NasVolumeRef {
  const r = decodeNasVolumeId(id);
  if ('problem' in r) throw notFound(r.problem);
  return r.ref;
}
