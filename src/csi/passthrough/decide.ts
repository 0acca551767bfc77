// Which volumes go straight to the sandbox: a pure function of facts already read and checked, so every
// rule is unit-tested and every decision carries its reason for the log.
import type { Params } from '../csi-types.js';
import type { FsGroupChangePolicy } from '../host/fs-group.js';

export const PASSTHROUGH_PARAMETER = 'passthrough';
export const KATA_VOLUMETYPE_PARAMETER = 'katacontainers.direct.volume/volumetype';
export const SKIP_HOSTMOUNT_ANNOTATION = 'skip-hostmount';
export const EBS_PASSTHROUGH_ANNOTATION = 'storage.alibabacloud.com/enable_ebs_passthrough';
export const NAS_PASSTHROUGH_ANNOTATION = 'storage.alibabacloud.com/enable_nas_passthrough';
export const DEFAULT_PASSTHROUGH_RUNTIME_CLASSES = ['kata', 'kata-qemu', 'kata-clh', 'runv', 'rund', 'passvol'] as const;
/**
 * NAS leaves Kata's runtimes out: Kata has no NFS volume type, so a NAS record would cost a Kata pod its
 * volume, while its host mount works. runv, rund and passvol mount NFS in the guest.
 */
export const DEFAULT_NAS_PASSTHROUGH_RUNTIME_CLASSES = DEFAULT_PASSTHROUGH_RUNTIME_CLASSES.filter((c) => !c.startsWith('kata'));

export function defaultRuntimeClasses(driver: 'disk' | 'nas'): string[] {
  return [...(driver === 'nas' ? DEFAULT_NAS_PASSTHROUGH_RUNTIME_CLASSES : DEFAULT_PASSTHROUGH_RUNTIME_CLASSES)];
}

/** What the StorageClass or the PVC asked for at CreateVolume (known before any pod exists). */
export interface ClaimIntent {
  parameters: Params;
  pvcAnnotations: Params;
}

export interface Decision {
  passthrough: boolean;
  reason: string;
}

/** At CreateVolume: did the StorageClass or PVC ask for passthrough? */
export function decideAtCreate(intent: ClaimIntent): Decision {
  if (intent.parameters[PASSTHROUGH_PARAMETER] === 'true') return { passthrough: true, reason: `StorageClass parameter ${PASSTHROUGH_PARAMETER}=true` };
  if (intent.parameters[KATA_VOLUMETYPE_PARAMETER] === 'directvol') return { passthrough: true, reason: `StorageClass parameter ${KATA_VOLUMETYPE_PARAMETER}=directvol` };
  if (intent.pvcAnnotations[SKIP_HOSTMOUNT_ANNOTATION] === 'true') return { passthrough: true, reason: `PVC annotation ${SKIP_HOSTMOUNT_ANNOTATION}=true` };
  return { passthrough: false, reason: 'neither StorageClass nor PVC asks for passthrough' };
}

export interface PodFacts {
  annotations: Params;
  runtimeClassName: string | undefined;
  /** spec.securityContext.fsGroupChangePolicy, when it is one this driver knows (kubelet does not send it). */
  fsGroupChangePolicy?: FsGroupChangePolicy;
}

export interface PublishFacts {
  /** From the volume context written at CreateVolume. */
  requestedAtCreate: Decision | undefined;
  /** The pod, when podInfoOnMount gave us one and the API server confirmed it (UID matched). */
  pod: PodFacts | undefined;
  /** Why pod facts are missing, for the log. */
  podUnavailableReason?: string;
  /** The annotation that applies to this kind of volume (disk or NAS). */
  podAnnotation: string;
  runtimeClasses: readonly string[];
}

/** At NodePublish: any one source asking is enough. */
export function decideAtPublish(f: PublishFacts): Decision {
  if (f.requestedAtCreate?.passthrough) return f.requestedAtCreate;
  if (f.pod) {
    if (f.pod.annotations[f.podAnnotation] === 'true') return { passthrough: true, reason: `pod annotation ${f.podAnnotation}=true` };
    if (f.pod.runtimeClassName && f.runtimeClasses.includes(f.pod.runtimeClassName)) {
      return { passthrough: true, reason: `pod runtimeClassName ${f.pod.runtimeClassName} is a sandbox runtime` };
    }
    return { passthrough: false, reason: `no passthrough request (runtimeClassName ${f.pod.runtimeClassName ?? 'unset'}, no ${f.podAnnotation})` };
  }
  return { passthrough: false, reason: `no passthrough request in the volume, and no pod facts (${f.podUnavailableReason ?? 'no pod info'})` };
}
