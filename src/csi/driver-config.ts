// Everything `passvol csi serve` is configured with, checked once at start-up.
import { z } from 'zod';
import { DEFAULT_DIRECT_VOLUME_ROOT, DEFAULT_GO_SHIM_ROOT, DEFAULT_RS_SHIM_ROOT } from '../directvolume/index.js';
import { defaultRuntimeClasses } from './passthrough/decide.js';

const absolute = (what: string) => z.string().min(1).refine((p) => p.startsWith('/'), { message: `${what} must be an absolute path` });
const hostPort = z.string().regex(/^[^:]*:\d{1,5}$/, 'give host:port, for example 127.0.0.1:9808');

export const DRIVER_NAMES = { disk: 'disk.csi.passvol.io', nas: 'nas.csi.passvol.io' } as const;

export const DriverConfigSchema = z
  .object({
    driver: z.enum(['disk', 'nas']),
    driverName: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, 'a CSI driver name is a DNS-1123 domain name of at most 63 characters').optional(),
    mode: z.enum(['controller', 'node', 'all']).default('all'),
    endpoint: z.string().regex(/^unix:\/\/\/.+/, 'the endpoint must be unix:///absolute/path.sock'),
    nodeId: z.string().min(1, 'give --node-id (usually the Kubernetes node name)').max(128),
    kubeletRoot: absolute('--kubelet-root').default('/var/lib/kubelet'),
    directVolumeRoot: absolute('--direct-volume-root').default(DEFAULT_DIRECT_VOLUME_ROOT),
    goShimRoot: absolute('--go-shim-root').default(DEFAULT_GO_SHIM_ROOT),
    rsShimRoot: absolute('--rs-shim-root').default(DEFAULT_RS_SHIM_ROOT),
    diskPoolDir: absolute('--disk-pool-dir').default('/var/lib/passvol/disks'),
    maxVolumesPerNode: z.number().int().min(0).default(64),
    /** volume-type written for passed-through disks: runtime-rs only accepts directvol for raw block. */
    diskVolumeType: z.string().min(1).default('directvol'),
    /** Omitted: the driver's default set (passthrough/decide.ts). */
    runtimeClasses: z.array(z.string().min(1)).optional(),
    kubeconfig: z.string().optional(),
    /** No API server: pod facts are unavailable, volume-level requests still work (tests, csi-sanity). */
    noKubernetes: z.boolean().default(false),
    nasLocalPaths: z.array(z.string()).default([]),
    metricsAddress: hostPort.optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).optional(), // omitted: $PASSVOL_LOG_LEVEL, else info (createLogger)
  })
  .strict();

export type DriverConfigInput = z.input<typeof DriverConfigSchema>;
export type DriverConfig = z.output<typeof DriverConfigSchema> & { driverName: string; runtimeClasses: string[] };

export function parseDriverConfig(input: unknown): DriverConfig {
  const c = DriverConfigSchema.parse(input);
  return { ...c, driverName: c.driverName ?? DRIVER_NAMES[c.driver], runtimeClasses: c.runtimeClasses ?? defaultRuntimeClasses(c.driver) };
}

export function endpointPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, '');
}
