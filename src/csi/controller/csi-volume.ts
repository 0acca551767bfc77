// Backend volume and snapshot facts in the CSI wire shape.
import type { SnapshotInfo, VolumeInfo } from '../backends/backend.js';

export function toCsiVolume(v: VolumeInfo): object {
  return {
    capacity_bytes: v.capacityBytes,
    volume_id: v.volumeId,
    volume_context: v.volumeContext,
    content_source: v.source?.snapshotId
      ? { snapshot: { snapshot_id: v.source.snapshotId } }
      : v.source?.volumeId
        ? { volume: { volume_id: v.source.volumeId } }
        : null,
    accessible_topology: v.topology ?? [],
  };
}

export function toCsiSnapshot(s: SnapshotInfo): object {
  const ms = s.createdAt.getTime();
  return {
    size_bytes: s.sizeBytes,
    snapshot_id: s.snapshotId,
    source_volume_id: s.sourceVolumeId,
    creation_time: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
    ready_to_use: true,
  };
}
