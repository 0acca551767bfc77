// A snapshot or clone of a disk passed through to a sandbox: the guest holds its filesystem, so the host
// cannot freeze it. The sandbox's monitor socket can (passvol's freeze and thaw): the guest writes out what
// is dirty and blocks new writes while the disk is copied. The freeze has a lease, renewed while the copy runs
// (a full copy of a large disk without reflinks takes minutes), so a driver that dies mid-copy cannot leave
// the pod's writers blocked for longer than one lease; a copy that outlived its lease is thrown away.
//
// A sandbox whose runtime cannot freeze (Kata's own shim answers NotFound) or that no longer answers is
// copied live, as a power cut would leave the disk, and the log says so: what a cloud snapshot of an
// attached disk gives.
import type { Logger } from '../../../common/logger.js';
import { PassvolError, toPassvolError } from '../../../common/errors.js';
import type { RecordStore } from '../../../directvolume/index.js';

/** How long the guest keeps the filesystem frozen without hearing from the driver. */
export const SNAPSHOT_FREEZE_LEASE_MS = 60_000;
/** Renewals per lease: a renewal that is late or lost once still leaves time for the next. */
const RENEWALS_PER_LEASE = 3;

export interface SandboxFreezeOptions {
  records: RecordStore;
  /** The sandboxes' monitor sockets (MonitorClient). */
  monitor: {
    freeze(sandboxId: string, device: string, leaseMs: number, options?: { renew?: boolean }): Promise<void>;
    thaw(sandboxId: string, device: string): Promise<boolean>;
  };
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
          this.o.log.warn({ sandboxId, device, err: err.message }, 'sandbox cannot freeze the volume: the copy (snapshot or clone) is taken live (crash-consistent)');
        }
      }
      const renewals = setInterval(() => void this.renewAll(held), Math.max(50, Math.floor(this.leaseMs / RENEWALS_PER_LEASE)));
      let result: T;
      try {
        result = await fn();
      } finally {
        clearInterval(renewals);
      }
      const lapsed = await this.thawAll(held.splice(0));
      if (lapsed.length > 0) {
        throw new PassvolError('PV_ERR_ABORTED', `the freeze of ${lapsed.join(', ')} did not hold until the copy was done (lease ${this.leaseMs} ms); the copy was discarded, try again`);
      }
      return result;
    } finally {
      await this.thawAll(held);
    }
  }

  /** Extends each lease; a renewal that fails is logged, and the thaw then says whether the freeze held. */
  private async renewAll(held: readonly Held[]): Promise<void> {
    for (const h of held) {
      await this.o.monitor.freeze(h.sandboxId, h.device, this.leaseMs, { renew: true }).catch((e: Error) => this.o.log.warn({ ...h, err: e.message }, 'cannot renew the freeze of the volume'));
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
