// mountInfo.json: the record a CSI driver leaves for the runtime. Field names and meaning follow Kata's
// MountInfo; parsing is tolerant of unknown keys (Kata tools write these files too), strict on the rest.
import { z } from 'zod';
import { invalidArgument } from '../common/errors.js';

export const MOUNT_INFO_FILE = 'mountInfo.json';

/** Volume types runtime-rs knows; `nfs` is passvol's NAS passthrough. Others are accepted and passed on. */
export const KNOWN_VOLUME_TYPES = ['directvol', 'vfiovol', 'spdkvol', 'spoolvol', 'nfs'] as const;

/** Options that make the guest try a bind mount of the device, which fails. */
const FORBIDDEN_OPTIONS = new Set(['bind', 'rbind']);

const nonEmpty = (field: string) =>
  z.string({ required_error: `"${field}" is required`, invalid_type_error: `"${field}" must be a string` }).min(1, {
    message: `"${field}" must not be empty`,
  });

export const MountInfoSchema = z
  .object({
    'volume-type': nonEmpty('volume-type'),
    device: nonEmpty('device'),
    fstype: nonEmpty('fstype'),
    metadata: z
      .record(z.string({ invalid_type_error: 'every "metadata" value must be a string' }), {
        invalid_type_error: '"metadata" must be an object of string values',
      })
      .nullish(),
    options: z
      .array(z.string({ invalid_type_error: 'every "options" entry must be a string' }), {
        invalid_type_error: '"options" must be an array of strings',
      })
      .nullish(),
  })
  .passthrough()
  .superRefine((info, ctx) => {
    for (const entry of info.options ?? []) {
      for (const opt of entry.split(',')) {
        if (FORBIDDEN_OPTIONS.has(opt.trim())) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['options'],
            message:
              `option "${opt.trim()}" is not allowed: the guest would try to bind-mount the device and fail; ` +
              'leave it out (the runtime bind-mounts the volume into the container itself)',
          });
        }
      }
    }
  });

export type MountInfo = z.infer<typeof MountInfoSchema>;

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => i.message).join('; ');
}

/** Parses and validates mountInfo JSON text; throws InvalidArgument with every problem named. */
export function parseMountInfo(text: string): MountInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`mount info is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument('mount info must be a JSON object with "volume-type", "device" and "fstype"');
  }
  const parsed = MountInfoSchema.safeParse(value);
  if (!parsed.success) throw invalidArgument(`invalid mount info: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Validates a mount info object built in code (same rules as text). */
export function validateMountInfo(info: MountInfo): MountInfo {
  const parsed = MountInfoSchema.safeParse(info);
  if (!parsed.success) throw invalidArgument(`invalid mount info: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A JSON string literal as Go's encoding/json writes it (HTML-safe escapes, U+FFFD for lone surrogates). */
function goJsonString(s: string): string {
  return JSON.stringify(s)
    .replace(/\\u(d[89a-f][0-9a-f]{2})/gi, '\\ufffd')
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/**
 * The bytes Kata's Go runtime produces for a MountInfo (json.Marshal: struct field order, map keys sorted,
 * empty metadata/options omitted). Unknown extra keys are not part of Kata's struct and are dropped.
 */
export function marshalMountInfo(info: MountInfo): string {
  const parts = [
    `"volume-type":${goJsonString(info['volume-type'])}`,
    `"device":${goJsonString(info.device)}`,
    `"fstype":${goJsonString(info.fstype)}`,
  ];
  const meta = info.metadata ?? {};
  const keys = Object.keys(meta).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (keys.length > 0) {
    parts.push(`"metadata":{${keys.map((k) => `${goJsonString(k)}:${goJsonString(meta[k] as string)}`).join(',')}}`);
  }
  if (info.options && info.options.length > 0) {
    parts.push(`"options":[${info.options.map(goJsonString).join(',')}]`);
  }
  return `{${parts.join(',')}}`;
}
