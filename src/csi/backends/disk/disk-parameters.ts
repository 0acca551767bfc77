// StorageClass parameters of the disk driver. Unknown keys are refused, naming the known ones.
import { z } from 'zod';
import { invalidArgument } from '../../../common/errors.js';
import type { Params } from '../../csi-types.js';

export const DiskParametersSchema = z
  .object({
    /** Default filesystem when the capability names none. */
    fstype: z.enum(['ext4', 'xfs']).optional(),
    /** Extra mkfs arguments, space separated (e.g. "-E lazy_itable_init=0"). */
    mkfsOptions: z.string().max(512).optional(),
    passthrough: z.enum(['true', 'false']).optional(),
    'katacontainers.direct.volume/volumetype': z.enum(['directvol']).optional(),
    'katacontainers.direct.volume/fstype': z.enum(['ext4', 'xfs']).optional(),
  })
  .strict();
export type DiskParameters = z.infer<typeof DiskParametersSchema>;

export function parseDiskParameters(params: Params): DiskParameters {
  const r = DiskParametersSchema.safeParse(params);
  if (r.success) return r.data;
  const known = Object.keys(DiskParametersSchema.shape).join(', ');
  throw invalidArgument(
    `invalid StorageClass parameters: ${r.error.issues
      .map((i) => (i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')} (known: ${known})` : `${i.path.join('.')}: ${i.message}`))
      .join('; ')}`,
  );
}

/** mkfs arguments are split on spaces; shell metacharacters never reach a shell (exec takes an array). */
export function mkfsArgs(options: string | undefined): string[] {
  return (options ?? '').split(/\s+/).filter(Boolean);
}
