// StorageClass parameters of the disk driver. Unknown keys are refused, naming the known ones.
import { z } from 'zod';
import { invalidArgument } from '../../../common/errors.js';
import type { Params } from '../../csi-types.js';

export const DiskParametersSchema = z
  .object({
    /**
     * The filesystem of a new disk. Kept in the volume context; the node formats with it when the volume
     * capability names no fs_type (the StorageClass sets no csi.storage.k8s.io/fstype and the provisioner
     * no --default-fstype). A capability naming another fs_type is refused at NodeStage unless the disk
     * already holds that filesystem (docs/csi-driver.md).
     */
    fstype: z.enum(['ext4', 'xfs']).optional(),
    /** Extra mkfs arguments, space separated (e.g. "-E lazy_itable_init=0"). */
    mkfsOptions: z.string().max(512).optional(),
    passthrough: z.enum(['true', 'false']).optional(),
    'katacontainers.direct.volume/volumetype': z.enum(['directvol']).optional(),
    /** Kata's name for fstype; both may be given only if they agree. */
    'katacontainers.direct.volume/fstype': z.enum(['ext4', 'xfs']).optional(),
  })
  .strict();
export type DiskParameters = z.infer<typeof DiskParametersSchema>;

export function parseDiskParameters(params: Params): DiskParameters {
  const r = DiskParametersSchema.safeParse(params);
  if (r.success) {
    const kata = r.data['katacontainers.direct.volume/fstype'];
    if (r.data.fstype && kata && r.data.fstype !== kata) {
      throw invalidArgument(`invalid StorageClass parameters: fstype ${r.data.fstype} and katacontainers.direct.volume/fstype ${kata} disagree; give one of them`);
    }
    return r.data;
  }
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
