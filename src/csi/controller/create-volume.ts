// CreateVolume: check the request, read the provisioner's extra metadata, record a passthrough request
// from the StorageClass or the PVC in the volume context, then let the backend provision.
import { z } from 'zod';
import { PassvolError, invalidArgument } from '../../common/errors.js';
import { VOLUME_CONTEXT, type ClaimFacts, type VolumeInfo } from '../backends/backend.js';
import { readCapability, unsupportedReason } from '../capabilities.js';
import type { CsiVolumeCapability, Params } from '../csi-types.js';
import { decideAtCreate } from '../passthrough/decide.js';
import { capabilityShape, parseRequest, requiredString, stringMap } from '../parse-request.js';
import type { ControllerContext } from './controller-context.js';
import { toCsiVolume } from './csi-volume.js';

const CreateRequest = z.object({
  name: requiredString('name'),
  capacity_range: z.object({ required_bytes: z.number().nonnegative(), limit_bytes: z.number().nonnegative() }).nullish(),
  volume_capabilities: z.array(capabilityShape).min(1, 'volume_capabilities must list at least one capability'),
  parameters: stringMap,
  volume_content_source: z
    .object({ snapshot: z.object({ snapshot_id: z.string() }).nullish(), volume: z.object({ volume_id: z.string() }).nullish() })
    .passthrough()
    .nullish(),
  accessibility_requirements: z.object({ requisite: z.array(z.object({ segments: stringMap })).default([]), preferred: z.array(z.object({ segments: stringMap })).default([]) }).nullish(),
});

const CO_PREFIX = 'csi.storage.k8s.io/';

function splitParameters(all: Params): { parameters: Params; claim: ClaimFacts } {
  const parameters: Params = {};
  const claim: ClaimFacts = {};
  for (const [k, v] of Object.entries(all)) {
    if (k === `${CO_PREFIX}pvc/name`) claim.pvcName = v;
    else if (k === `${CO_PREFIX}pvc/namespace`) claim.pvcNamespace = v;
    else if (k === `${CO_PREFIX}pv/name`) claim.pvName = v;
    else if (!k.startsWith(CO_PREFIX)) parameters[k] = v;
  }
  return { parameters, claim };
}

export async function createVolume(ctx: ControllerContext, request: unknown): Promise<{ volume: object }> {
  const r = parseRequest(CreateRequest, request);
  const { backend } = ctx;
  const accesses = r.volume_capabilities.map((c) => readCapability(c as CsiVolumeCapability, backend.defaultFsType));
  for (const a of accesses) {
    const why = unsupportedReason(a, backend.supportedModes, [...backend.supportedFsTypes], backend.blockSupported);
    if (why) throw invalidArgument(why);
  }
  const { parameters, claim } = splitParameters(r.parameters);
  backend.validateParameters(parameters);
  const requiredBytes = r.capacity_range?.required_bytes ?? 0;
  const limitBytes = r.capacity_range?.limit_bytes ?? 0;
  if (limitBytes && requiredBytes > limitBytes) throw invalidArgument(`capacity_range.required_bytes ${requiredBytes} exceeds limit_bytes ${limitBytes}`);
  const requisite = r.accessibility_requirements?.requisite ?? [];
  if (requisite.length > 0 && !requisite.some((t) => Object.values(t.segments).includes(ctx.config.nodeId))) {
    throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `no requisite topology includes node ${ctx.config.nodeId}, the only node this pool serves`);
  }
  let pvcAnnotations: Params = {};
  if (claim.pvcName && claim.pvcNamespace) {
    try {
      pvcAnnotations = await ctx.cluster.pvcAnnotations(claim.pvcNamespace, claim.pvcName);
    } catch (e) {
      throw new PassvolError('PV_ERR_UNAVAILABLE', `cannot read PVC ${claim.pvcNamespace}/${claim.pvcName} to see whether it asks for passthrough: ${(e as Error).message}`);
    }
  }
  const intent = decideAtCreate({ parameters, pvcAnnotations });
  const extraContext: Params = {};
  if (intent.passthrough) {
    extraContext[VOLUME_CONTEXT.passthrough] = 'true';
    extraContext[VOLUME_CONTEXT.passthroughReason] = intent.reason;
  }
  ctx.log.info({ name: r.name, passthrough: intent.passthrough, reason: intent.reason }, 'create decision');
  const source = r.volume_content_source?.snapshot?.snapshot_id
    ? { snapshotId: r.volume_content_source.snapshot.snapshot_id }
    : r.volume_content_source?.volume?.volume_id
      ? { volumeId: r.volume_content_source.volume.volume_id }
      : undefined;
  const create = () => backend.createVolume({ name: r.name, requiredBytes, limitBytes, parameters, claim, accesses, extraContext, ...(source ? { source } : {}) });
  // A clone or a restore copies its source (a volume frozen if in use, or a snapshot): it holds the source's
  // lock too, so a delete, an expand or a snapshot of that source meanwhile answers ABORTED. Locks are keyed
  // `name:`, `snapshot:` or by volume id, and none waits: they cannot deadlock.
  const sourceLock = source?.volumeId ?? (source?.snapshotId ? `snapshot:${source.snapshotId}` : undefined);
  const info: VolumeInfo = await ctx.locks.with(`name:${r.name}`, () => (sourceLock ? ctx.locks.with(sourceLock, create) : create()));
  return { volume: toCsiVolume(info) };
}
