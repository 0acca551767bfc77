// What the driver reads from the API server: the pod being published for (annotations, runtimeClassName,
// checked against the UID kubelet gave) and the PVC's annotations at create time.
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Logger } from '../../common/logger.js';
import type { Params } from '../csi-types.js';
import { FS_GROUP_CHANGE_POLICIES } from '../host/fs-group.js';
import type { PodFacts } from './decide.js';

/**
 * The pod; or `unavailable`: there are no facts to have (no API server configured, no such pod, another pod
 * by that name), and the volume-level request decides; or `error`: the API server did not answer properly
 * (timeout, 5xx, 403), and the facts may exist: the caller must not decide without them.
 */
export type PodLookup = { pod: PodFacts } | { unavailable: string } | { error: string };

export interface ClusterFacts {
  pod(namespace: string, name: string, uid: string): Promise<PodLookup>;
  pvcAnnotations(namespace: string, name: string): Promise<Params>;
}

const ObjectMeta = z.object({ uid: z.string().optional(), annotations: z.record(z.string()).nullish() }).passthrough();
// The policy is checked on its own (FsGroupChangePolicy): a value this driver does not know is ignored, not
// a pod that cannot be read.
const PodSecurityContext = z.object({ fsGroupChangePolicy: z.unknown() }).passthrough();
const PodSchema = z
  .object({ metadata: ObjectMeta, spec: z.object({ runtimeClassName: z.string().nullish(), securityContext: PodSecurityContext.nullish() }).passthrough().optional() })
  .passthrough();
const FsGroupChangePolicy = z.enum(FS_GROUP_CHANGE_POLICIES);
const PvcSchema = z.object({ metadata: ObjectMeta }).passthrough();

const API_TIMEOUT_MS = 5000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: API server did not answer within ${API_TIMEOUT_MS} ms`)), API_TIMEOUT_MS).unref())]);
}

/** The message of a Kubernetes Status answer, when the error carries one. */
function httpReason(e: unknown): string {
  const message = (e as { body?: { message?: unknown } })?.body?.message;
  return typeof message === 'string' && message ? `: ${message}` : '';
}

/** What KubeConfig.loadFromDefault() settles on when it finds no configuration at all. */
export function isLibraryFallback(kc: Pick<KubeConfig, 'currentContext' | 'getCurrentCluster' | 'getCurrentUser'>): boolean {
  return kc.currentContext === 'loaded-context' && kc.getCurrentCluster()?.server === 'http://localhost:8080' && kc.getCurrentUser()?.name === 'user';
}

function statusOf(e: unknown): number | undefined {
  const r = e as { statusCode?: number; response?: { statusCode?: number } };
  return r?.statusCode ?? r?.response?.statusCode;
}

export class KubernetesClusterFacts implements ClusterFacts {
  private readonly api: CoreV1Api;
  private readonly log: Pick<Logger, 'warn'> | undefined;

  constructor(api: CoreV1Api, log?: Pick<Logger, 'warn'>) {
    this.api = api;
    this.log = log;
  }

  /**
   * In-cluster when running in a pod, else the kubeconfig given (or $KUBECONFIG / ~/.kube/config). The
   * client library is loaded only here: it costs ~40 MB and ~0.3 s, which a driver without an API server
   * should not pay.
   */
  static async load(kubeconfigPath?: string, log?: Pick<Logger, 'warn'>): Promise<KubernetesClusterFacts> {
    const k8s = await import('@kubernetes/client-node');
    const kc: KubeConfig = new k8s.KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    // Finding nothing, the library does not fail: it points at http://localhost:8080. Every pod read would
    // then fail, and NodePublish answer UNAVAILABLE for ever; say "no configuration" instead.
    if (!kubeconfigPath && isLibraryFallback(kc)) {
      throw new Error('found no kubeconfig ($KUBECONFIG, ~/.kube/config) and no in-cluster service account token');
    }
    return new KubernetesClusterFacts(kc.makeApiClient(k8s.CoreV1Api), log);
  }

  async pod(namespace: string, name: string, uid: string): Promise<PodLookup> {
    if (!uid) return { unavailable: `no UID given for pod ${namespace}/${name}: it cannot be confirmed` };
    let body: unknown;
    try {
      body = (await withTimeout(this.api.readNamespacedPod(name, namespace), `get pod ${namespace}/${name}`)).body;
    } catch (e) {
      const code = statusOf(e);
      if (code === 404) return { unavailable: `pod ${namespace}/${name} not found` };
      return { error: code !== undefined ? `HTTP ${code}${httpReason(e)}` : (e as Error).message };
    }
    const parsed = PodSchema.safeParse(body);
    if (!parsed.success) return { error: `unexpected answer: ${parsed.error.issues[0]?.message ?? 'not a pod'}` };
    const meta = parsed.data.metadata;
    if (meta.uid !== uid) return { unavailable: `pod ${namespace}/${name} has UID ${meta.uid}, not ${uid} (a different pod by the same name)` };
    const pod: PodFacts = { annotations: meta.annotations ?? {}, runtimeClassName: parsed.data.spec?.runtimeClassName ?? undefined };
    const policy = parsed.data.spec?.securityContext?.fsGroupChangePolicy;
    if (policy !== undefined && policy !== null) {
      const known = FsGroupChangePolicy.safeParse(policy);
      if (known.success) pod.fsGroupChangePolicy = known.data;
      else {
        this.log?.warn(
          { pod: `${namespace}/${name}`, fsGroupChangePolicy: policy },
          `fsGroupChangePolicy ignored: not one of ${FS_GROUP_CHANGE_POLICIES.join(', ')}; fsGroup is applied to every file (Always)`,
        );
      }
    }
    return { pod };
  }

  async pvcAnnotations(namespace: string, name: string): Promise<Params> {
    const res = await withTimeout(this.api.readNamespacedPersistentVolumeClaim(name, namespace), `get pvc ${namespace}/${name}`);
    const parsed = PvcSchema.safeParse(res.body);
    return parsed.success ? (parsed.data.metadata.annotations ?? {}) : {};
  }
}

/** Used when no API server is configured: every publish falls back to volume-level requests. */
export class NoClusterFacts implements ClusterFacts {
  constructor(private readonly why: string) {}
  async pod(): Promise<PodLookup> {
    return { unavailable: this.why };
  }
  async pvcAnnotations(): Promise<Params> {
    return {};
  }
}
