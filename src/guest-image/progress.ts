// Progress reports of an image build: one event when a stage starts, and one when it is done or was
// found in the cache. The CLI prints them as lines; tests collect them.

export const STAGES = ['kernel', 'modules', 'initramfs', 'agent-bundle', 'agent-disk', 'manifest'] as const;
export type StageName = (typeof STAGES)[number];

export interface ProgressEvent {
  stage: StageName;
  state: 'start' | 'cached' | 'built';
  /** Short human detail: a version, a size, a cache folder. */
  detail?: string;
  /** Time the stage took, for 'cached' and 'built'. */
  ms?: number;
}

export type OnProgress = (event: ProgressEvent) => void;

export function formatProgress(e: ProgressEvent): string {
  const time = e.ms === undefined ? '' : ` (${(e.ms / 1000).toFixed(1)} s)`;
  return `[image] ${e.stage}: ${e.state}${time}${e.detail ? ` - ${e.detail}` : ''}`;
}
