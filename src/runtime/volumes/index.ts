// The kinds of volume, in the order they are tried.
import { directBlock } from './direct-block.js';
import { directNfs } from './direct-nfs.js';
import { podTmpfs } from './pod-tmpfs.js';
import { sharedVolume } from './shared-volume.js';
import type { SandboxVolume } from './sandbox-volume.js';
import type { PlannedMount } from './volume-plan.js';

export const VOLUME_KINDS: readonly SandboxVolume[] = [directBlock, directNfs, podTmpfs, sharedVolume];

export function volumeKindFor(plan: PlannedMount): SandboxVolume | undefined {
  return VOLUME_KINDS.find((k) => k.matches(plan));
}
