// StorageClass parameters of the NAS driver. Unknown keys are refused, naming the known ones (as
// csi-driver-nfs does). The servers strip the csi.storage.k8s.io/ keys before they reach here. Where the
// export is reachable on the controller (--nas-local-path) is driver configuration, not a parameter.
import { z } from 'zod';
import { invalidArgument } from '../../../common/errors.js';
import type { Params } from '../../csi-types.js';
import { ON_DELETE_POLICIES, SERVER_PATTERN } from './nas-volume-id.js';
import { exportPathProblem, trimTrailingSlashes } from './nas-paths.js';
import { NFS_VERSIONS, nfsMountOptions } from './nfs-options.js';
import { validateSubDirTemplate } from './subdir-template.js';

export const NasParametersSchema = z
  .object({
    /** The NFS server: host name or address. */
    server: z.string({ required_error: 'is required' }).regex(SERVER_PATTERN, 'must be a host name, an IPv4 address or a [bracketed] IPv6 address'),
    /** The exported path on the server; volumes are folders inside it. */
    share: z
      .string({ required_error: 'is required' })
      .transform(trimTrailingSlashes)
      .superRefine((v, ctx) => {
        const why = exportPathProblem(v);
        if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: why });
      }),
    /** Template of each volume's folder; ${pv.metadata.name} when absent. */
    subDir: z.string().min(1).max(1024).optional(),
    onDelete: z.enum(ON_DELETE_POLICIES).default('delete'),
    nfsVersion: z.enum(NFS_VERSIONS).default('4.1'),
    /** Comma list that overrides the defaults of nfsVersion, option by option. */
    mountOptions: z.string().max(1024).optional(),
    passthrough: z.enum(['true', 'false']).optional(),
    'katacontainers.direct.volume/volumetype': z.enum(['directvol']).optional(),
  })
  .strict();
export type NasParameters = z.infer<typeof NasParametersSchema>;

export function parseNasParameters(params: Params): NasParameters {
  const r = NasParametersSchema.safeParse(params);
  if (!r.success) {
    const known = Object.keys(NasParametersSchema.shape).join(', ');
    throw invalidArgument(
      `invalid StorageClass parameters: ${r.error.issues
        .map((i) => (i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')} (known: ${known})` : `${i.path.join('.')}: ${i.message}`))
        .join('; ')}`,
    );
  }
  // Checked here too, so a bad StorageClass fails at its first volume with the parameter named.
  if (r.data.subDir !== undefined) validateSubDirTemplate(r.data.subDir);
  nfsMountOptions(r.data.nfsVersion, r.data.mountOptions);
  return r.data;
}
