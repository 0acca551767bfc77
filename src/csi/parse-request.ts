// gRPC requests are checked with zod at the edge; a failure is InvalidArgument naming every bad field.
import { z } from 'zod';
import { invalidArgument } from '../common/errors.js';

export function parseRequest<T extends z.ZodTypeAny>(schema: T, request: unknown): z.infer<T> {
  const r = schema.safeParse(request);
  if (r.success) return r.data;
  throw invalidArgument(r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
}

export const requiredString = (field: string) => z.string({ required_error: `${field} is required` }).min(1, `${field} is required`);
export const stringMap = z.record(z.string()).default({});
/** The largest gid: (gid_t)-1 means "no change" to chown. */
export const MAX_GID = 4294967294;

/**
 * volume_mount_group is the pod's fsGroup, which kubelet sends as a decimal gid; anything else would reach
 * chown (host path) or the guest (passthrough record) as NaN or garbage, so it is refused up front.
 */
export const volumeMountGroup = z
  .string()
  .optional()
  .refine((g) => g === undefined || g === '' || (/^\d{1,10}$/.test(g) && Number(g) <= MAX_GID), (g) => ({
    message: `must be a decimal group id from 0 to ${MAX_GID} (the pod's securityContext.fsGroup), not "${g}"`,
  }));

export const capabilityShape = z
  .object({
    block: z.object({}).passthrough().nullish(),
    mount: z.object({ fs_type: z.string().optional(), mount_flags: z.array(z.string()).optional(), volume_mount_group: volumeMountGroup }).passthrough().nullish(),
    access_mode: z.object({ mode: z.string().optional() }).passthrough().nullish(),
  })
  .passthrough();
