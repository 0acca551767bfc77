// What the driver reads from the API server: the pod being published for (annotations, runtimeClassName,
// checked against the UID kubelet gave) and the PVC's annotations at create time.
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Params } from '../csi-types.js';
import type { PodFacts } from './decide.js';

export interface ClusterFacts {
  /** The pod, or a reason why it could not be confirmed. */
  pod(namespace: string, name: string, uid: string): Promise<{ pod: PodFacts } | { unavailable: string }>;
  pvcAnnotations(namespace: string, name: string): Promise<Params>;
}

const ObjectMeta = z.object({ uid: z.string().optional(), annotations: z.record(z.string()).nullish() }).passthrough();
const PodSchema = z.object({ metadata: ObjectMeta, spec: z.object({ runtimeClassName: z.string().nullish() }).passthrough().optional() }).passthrough();
const PvcSchema = z.object({ metadata: ObjectMeta }).passthrough();

const API_TIMEOUT_MS = 5000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: API server did not answer within ${API_TIMEOUT_MS} ms`)), API_TIMEOUT_MS).unref())]);
}

function statusOf(e: unknown): number | undefined {
  const r = e as { statusCode?: number; response?: { statusCode?: number } };
  return r?.statusCode ?? r?.response?.statusCode;
}

export class KubernetesClusterFacts implements ClusterFacts {
  private readonly api: CoreV1Api;

  constructor(api: CoreV1Api) {
    this.api = api;
  }

  /**
   * In-cluster when running in a pod, else the kubeconfig given (or $KUBECONFIG / ~/.kube/config). The
   * client library is loaded only here: it costs ~40 MB and ~0.3 s, which a driver without an API server
   * should not pay.
   */
  static async load(kubeconfigPath?: string): Promise<KubernetesClusterFacts> {
    const k8s = await import('@kubernetes/client-node');
    const kc: KubeConfig = new k8s.KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return new KubernetesClusterFacts(kc.makeApiClient(k8s.CoreV1Api));
  }

  async pod(namespace: string, name: string, uid: string): Promise<{ pod: PodFacts } | { unavailable: string }> {
    let body: unknown;
    try {
      body = (await withTimeout(this.api.readNamespacedPod(name, namespace), `get pod ${namespace}/${name}`)).body;
    } catch (e) {
      const code = statusOf(e);
      return { unavailable: code === 404 ? `pod ${namespace}/${name} not found` : `get pod ${namespace}/${name} failed: ${code ?? (e as Error).message}` };
    }
    const parsed = PodSchema.safeParse(body);
    if (!parsed.success) return { unavailable: `pod ${namespace}/${name}: unexpected API answer` };
    const meta = parsed.data.metadata;
    if (uid && meta.uid !== uid) return { unavailable: `pod ${namespace}/${name} has UID ${meta.uid}, not ${uid} (a different pod by the same name)` };
    return { pod: { annotations: meta.annotations ?? {}, runtimeClassName: parsed.data.spec?.runtimeClassName ?? undefined } };
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
  async pod(): Promise<{ unavailable: string }> {
    return { unavailable: this.why };
  }
  async pvcAnnotations(): Promise<Params> {
    return {};
  }
}
