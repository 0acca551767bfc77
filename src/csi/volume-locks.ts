// One operation per volume at a time: a second call while one is in flight answers ABORTED at once
// (the CO retries), as the CSI spec recommends and csi-driver-nfs does.
import { PassvolError } from '../common/errors.js';

export class VolumeLocks {
  private readonly held = new Set<string>();

  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.held.has(key)) {
      throw new PassvolError('PV_ERR_VOLUME_BUSY', `an operation on ${key} is already in progress; retry when it finishes`);
    }
    this.held.add(key);
    try {
      return await fn();
    } finally {
      this.held.delete(key);
    }
  }

  get size(): number {
    return this.held.size;
  }
}
