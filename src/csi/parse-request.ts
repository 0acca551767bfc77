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
export const capabilityShape = z
  .object({
    block: z.object({}).passthrough().nullish(),
    mount: z.object({ fs_type: z.string().optional(), mount_flags: z.array(z.string()).optional(), volume_mount_group: z.string().optional() }).passthrough().nullish(),
    access_mode: z.object({ mode: z.string().optional() }).passthrough().nullish(),
  })
  .passthrough();
