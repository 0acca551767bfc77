// A standard OCI bundle (config.json + rootfs), read once and checked: the part of the runtime spec the
// sandbox runtime acts on. Unknown fields are kept out of the typed view, not rejected (higher layers add many).
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { invalidArgument } from '../../common/errors.js';

const MountSchema = z
  .object({
    destination: z.string().refine((d) => d.startsWith('/'), 'mount destination must be an absolute path'),
    source: z.string().optional(),
    type: z.string().optional(),
    options: z.array(z.string()).default([]),
  })
  .passthrough();

/** The limits the runtime acts on: the VM's size (sandbox-size.ts) and each container's cgroup in the guest. */
export const LinuxResourcesSchema = z
  .object({
    memory: z.object({ limit: z.number().int().optional() }).passthrough().optional(),
    cpu: z.object({ quota: z.number().int().optional(), period: z.number().int().nonnegative().optional(), shares: z.number().int().nonnegative().optional() }).passthrough().optional(),
    pids: z.object({ limit: z.number().int().optional() }).passthrough().optional(),
    /** cgroup v2 files by name (kubelet sets memory.oom.group here). */
    unified: z.record(z.string()).optional(),
  })
  .passthrough();
export type LinuxResources = z.infer<typeof LinuxResourcesSchema>;

export const OciSpecSchema = z
  .object({
    ociVersion: z.string(),
    process: z
      .object({
        args: z.array(z.string()).min(1, 'process.args must name the program to run'),
        env: z.array(z.string()).default([]),
        cwd: z.string().refine((c) => c.startsWith('/'), 'process.cwd must be absolute').default('/'),
        user: z.object({ uid: z.number().int().nonnegative(), gid: z.number().int().nonnegative(), additionalGids: z.array(z.number().int().nonnegative()).optional() }).passthrough().default({ uid: 0, gid: 0 }),
        terminal: z.boolean().default(false),
        consoleSize: z.object({ height: z.number().int().min(1).max(10_000), width: z.number().int().min(1).max(10_000) }).passthrough().optional(),
        oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
        noNewPrivileges: z.boolean().optional(),
        capabilities: z
          .object({
            bounding: z.array(z.string()).optional(),
            effective: z.array(z.string()).optional(),
            permitted: z.array(z.string()).optional(),
            inheritable: z.array(z.string()).optional(),
            ambient: z.array(z.string()).optional(),
          })
          .passthrough()
          .optional(),
      })
      .passthrough(),
    root: z.object({ path: z.string().min(1), readonly: z.boolean().default(false) }).passthrough(),
    hostname: z.string().optional(),
    mounts: z.array(MountSchema).default([]),
    annotations: z.record(z.string()).default({}),
    /** The namespaces (a network namespace with a path is the pod's: CRI made it, CNI filled it) and the limits. */
    linux: z
      .object({ namespaces: z.array(z.object({ type: z.string(), path: z.string().optional() }).passthrough()).default([]), resources: LinuxResourcesSchema.optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

export type OciSpec = z.infer<typeof OciSpecSchema>;
export type OciMount = z.infer<typeof MountSchema>;

export interface Bundle {
  dir: string;
  spec: OciSpec;
  /** The root filesystem on the host, resolved against the bundle. */
  rootfs: string;
}

export async function readBundle(dir: string): Promise<Bundle> {
  const abs = resolve(dir);
  let text: string;
  try {
    text = await readFile(join(abs, 'config.json'), 'utf8');
  } catch {
    throw invalidArgument(`${abs} is not an OCI bundle: it has no readable config.json`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`${join(abs, 'config.json')} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = OciSpecSchema.safeParse(raw);
  if (!parsed.success) throw invalidArgument(`${join(abs, 'config.json')}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const rootfs = isAbsolute(parsed.data.root.path) ? parsed.data.root.path : join(abs, parsed.data.root.path);
  if (!(await stat(rootfs).catch(() => undefined))?.isDirectory()) throw invalidArgument(`root.path ${rootfs} is not a directory`);
  return { dir: abs, spec: parsed.data, rootfs };
}

/** A bind mount from the host (what kubelet gives for volumes): type bind or an option bind/rbind. */
export function isBindMount(m: OciMount): boolean {
  return m.source !== undefined && m.source.startsWith('/') && (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind'));
}
