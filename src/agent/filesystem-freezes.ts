// Filesystems the agent froze for a snapshot of their disk (FIFREEZE through busybox fsfreeze). A freeze
// blocks every writer of the volume, so each one has a lease: when the caller does not thaw in time (it
// died, or the copy took too long) the agent thaws by itself, and the late thaw then answers that the
// freeze did not hold throughout, so the caller knows its copy may be torn and discards it.
import { AgentError } from '../protocol/index.js';
import type { Logger } from 'pino';
import type { RunCommand } from './run-command.js';

/** fsfreeze syncs the filesystem before it freezes it: under TCG with much dirty data that takes a while. */
const FSFREEZE_TIMEOUT_MS = 120_000;

export class FilesystemFreezes {
  /** Frozen mount points and their lease timers (none yet while fsfreeze runs). */
  private readonly leases = new Map<string, NodeJS.Timeout | undefined>();
  /** Mount points whose lease ran out since they were frozen: their thaw answers heldThroughout false. */
  private readonly expired = new Set<string>();

  constructor(
    private readonly run: RunCommand,
    private readonly log: Logger,
  ) {}

  isFrozen(mountPoint: string): boolean {
    return this.leases.has(mountPoint);
  }

  async freeze(mountPoint: string, leaseMs: number): Promise<void> {
    if (this.leases.has(mountPoint)) throw new AgentError('FAILED_PRECONDITION', `${mountPoint} is already frozen (another snapshot of it is in progress)`);
    this.expired.delete(mountPoint);
    // Held while fsfreeze runs (it first writes out what is dirty, which can take long); the lease itself
    // starts once the filesystem is frozen, so all of it is the caller's for the copy.
    this.leases.set(mountPoint, undefined);
    try {
      await this.run('fsfreeze', ['--freeze', mountPoint], { timeoutMs: FSFREEZE_TIMEOUT_MS, failureCode: 'FAILED_PRECONDITION' });
    } catch (e) {
      this.leases.delete(mountPoint);
      // A freeze that timed out may still complete in the kernel; one refused (busy) is someone else's.
      if (/timed out/.test((e as Error).message)) await this.unfreeze(mountPoint).catch(() => undefined);
      throw e;
    }
    this.leases.set(mountPoint, setTimeout(() => void this.expire(mountPoint, leaseMs), leaseMs));
    this.log.info({ mountPoint, leaseMs }, 'filesystem frozen');
  }

  /** Restarts the lease of a freeze this agent holds; a freeze whose lease already ran out is not revived. */
  renew(mountPoint: string, leaseMs: number): void {
    const lease = this.leases.get(mountPoint);
    if (lease === undefined) throw new AgentError('FAILED_PRECONDITION', `${mountPoint} is not frozen${this.expired.has(mountPoint) ? ' any more (its lease ran out)' : ''}; nothing to renew`);
    clearTimeout(lease);
    this.leases.set(mountPoint, setTimeout(() => void this.expire(mountPoint, leaseMs), leaseMs));
  }

  /** Thaws what this agent froze; true when the freeze held from the freeze until this call. */
  async thaw(mountPoint: string): Promise<boolean> {
    if (!this.leases.has(mountPoint)) {
      this.expired.delete(mountPoint);
      // Not frozen by this agent (any more): thawing is harmless, and frees a freeze nobody owns.
      await this.unfreeze(mountPoint);
      return false;
    }
    clearTimeout(this.leases.get(mountPoint));
    this.leases.delete(mountPoint);
    await this.unfreeze(mountPoint);
    this.log.info({ mountPoint }, 'filesystem thawed');
    return true;
  }

  private async expire(mountPoint: string, leaseMs: number): Promise<void> {
    if (!this.leases.has(mountPoint)) return;
    this.leases.delete(mountPoint);
    this.expired.add(mountPoint);
    this.log.warn({ mountPoint, leaseMs }, 'freeze lease ran out: thawing, the snapshot taken under it will be discarded');
    await this.unfreeze(mountPoint).catch((e: Error) => this.log.error({ mountPoint, err: e.message }, 'cannot thaw after the lease ran out'));
  }

  /** fsfreeze --unfreeze; "not frozen" (EINVAL) and a mount point that is gone count as done. */
  private async unfreeze(mountPoint: string): Promise<void> {
    await this.run('fsfreeze', ['--unfreeze', mountPoint], { timeoutMs: FSFREEZE_TIMEOUT_MS }).catch((e: Error) => {
      if (!/Invalid argument|No such file|not a directory/i.test(e.message)) throw e;
    });
  }
}
