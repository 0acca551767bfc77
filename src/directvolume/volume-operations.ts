// stats and resize of a direct volume, as `kata-runtime direct-volume` does them: find the sandbox bound to
// the record, then ask its monitor socket, addressing the volume by the record's device.
import { failedPrecondition } from '../common/errors.js';
import type { RecordStore } from './record-store.js';
import type { MonitorClient } from './monitor-client.js';

async function boundRecord(store: RecordStore, volumePath: string) {
  const record = await store.get(volumePath);
  if (record.sandboxId === undefined) {
    throw failedPrecondition(
      `no sandbox uses volume ${volumePath} yet: stats and online resize are answered by the sandbox that mounts it`,
    );
  }
  return { record, sandboxId: record.sandboxId };
}

export async function directVolumeStats(store: RecordStore, client: MonitorClient, volumePath: string): Promise<string> {
  const { record, sandboxId } = await boundRecord(store, volumePath);
  return client.stats(sandboxId, record.mountInfo.device);
}

export async function directVolumeResize(store: RecordStore, client: MonitorClient, volumePath: string, sizeBytes: number): Promise<void> {
  const { record, sandboxId } = await boundRecord(store, volumePath);
  await client.resize(sandboxId, record.mountInfo.device, sizeBytes);
}
