// A snapshot of a disk passed through to a sandbox: the guest holds its filesystem, so the host cannot
// freeze it. The sandbox's monitor socket can (passvol's freeze and thaw): the guest writes out what is
// dirty and blocks new writes while the disk is copied. The freeze has a lease, so a driver that dies
// mid-copy cannot leave the pod's writers blocked; a copy that outlived its lease is thrown away.
//
// A sandbox whose runtime cannot freeze (Kata's own shim answers NotFound) or that no longer answers is
// copied live, as a power cut would leave the disk, and the log says so: what a cloud snapshot of an
// attached disk gives.
import type { Logger } from '../../../common/logger.js';
import { PassvolError, toPassvolError } from '../../../common/errors.js';
import type { MonitorClient, RecordStore } from '../../../directvolume/index.js';

/** How long the guest keeps the filesystem frozen at most; the copy of the image must fit in it. */
export const SNAPSHOT_FREEZE_LEASE_MS = 60_000;

export interface SandboxFreezeOptions {
  records: RecordStore;
  monitor: Pick<MonitorClient, 'freeze' | 'thaw'>;
  log: Logger;
  leaseMs?: number;
}

interface Held {
  sandboxId: string;
  device: string;
}

export class SandboxFreezer {
  private readonly leaseMs: number;

  constructor(private readonly o: SandboxFreezeOptions) {
    this.leaseMs = o.leaseMs ?? SNAPSHOT_FREEZE_LEASE_MS;
  }

  /** Runs fn with every sandbox that holds one of these devices frozen; throws ABORTED if a freeze lapsed. */
  async whileFrozen<T>(devices: readonly string[], fn: () => Promise<T>): Promise<T> {
    const held: Held[] = [];
    try {
      for (const { sandboxId, device } of await this.holders(devices)) {
        try {
          await this.o.monitor.freeze(sandboxId, device, this.leaseMs);
          held.push({ sandboxId, device });
        } catch (e) {
          const err = toPassvolError(e);
          if (err.code !== 'PV_ERR_NOT_FOUND' && err.code !== 'PV_ERR_SANDBOX_UNREACHABLE') throw err;
          this.o.log.warn({ sandboxId, device, err: err.message }, 'sandbox cannot freeze the volume: the snapshot is taken live (crash-consistent)');
        }
      }
      const result = await fn();
      const lapsed = await this.thawAll(held.splice(0));
      if (lapsed.length > 0) {
        throw new PassvolError('PV_ERR_ABORTED', `the freeze of ${lapsed.join(', ')} did not hold until the copy was done (lease ${this.leaseMs} ms); the copy was discarded, try again`);
      }
      return result;
    } finally {
      await this.thawAll(held);
    }
  }

  /** Thaws each; returns the ones whose freeze had lapsed before (or could not be thawed). */
  private async thawAll(held: Held[]): Promise<string[]> {
    const lapsed: string[] = [];
    for (const h of held.reverse()) {
      const ok = await this.o.monitor.thaw(h.sandboxId, h.device).catch((e: Error) => {
        this.o.log.error({ ...h, err: e.message }, 'cannot thaw the volume in its sandbox (its lease will)');
        return false;
      });
      if (!ok) lapsed.push(`${h.device} in sandbox ${h.sandboxId}`);
    }
    return lapsed;
  }

  /** The sandboxes that hold these devices now, from the direct-volume records' bindings. */
  private async holders(devices: readonly string[]): Promise<Held[]> {
    const wanted = new Set(devices);
    const out = new Map<string, Held>();
    for (const entry of await this.o.records.list()) {
      const r = entry.record;
      if (!r || r.sandboxId === undefined || !wanted.has(r.mountInfo.device)) continue;
      // One freeze per sandbox and device, however many records name them.
      out.set(`${r.sandboxId}\0${r.mountInfo.device}`, { sandboxId: r.sandboxId, device: r.mountInfo.device });
    }
    return [...out.values()];
  }
}
