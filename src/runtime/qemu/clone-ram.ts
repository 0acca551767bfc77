// A clone's RAM: its own sparse copy of the template's memory file, made beside it (so on the templates'
// tmpfs). QEMU maps the copy shared (virtiofsd must see the clone's writes), then it is unlinked, so the
// RAM goes when QEMU does.
import { randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassvolError } from '../../common/errors.js';
import { SystemExec } from '../../common/exec.js';

/** Room a clone's RAM copy leaves on its tmpfs beyond the guest's size. */
export const CLONE_RAM_HEADROOM_MIB = 64;

/**
 * Unique (two runtime roots may each have a sandbox of one name); VmTemplates removes copies a crash left
 * behind.
 */
export const cloneRamPath = (templateRam: string, vmName: string): string => `${templateRam}.clone-${vmName}-${randomBytes(4).toString('hex')}`;

/**
 * Copies sparsely (cp seeks past holes: ~0.14 s for 170 MB used of 512 MiB). The copy grows as the guest
 * touches memory, up to the guest's size: with less free than that, the guest would die of SIGBUS later,
 * so the clone is refused now (and the sandbox boots).
 */
export async function copyTemplateRam(templateRam: string, copy: string, memoryMiB: number): Promise<void> {
  const fs = await statfs(dirname(copy));
  const freeMiB = (fs.bavail * fs.bsize) / 2 ** 20;
  if (freeMiB < memoryMiB + CLONE_RAM_HEADROOM_MIB) {
    throw new PassvolError('PV_ERR_RESOURCE_EXHAUSTED', `${Math.floor(freeMiB)} MiB free in ${dirname(copy)}, a clone needs ${memoryMiB + CLONE_RAM_HEADROOM_MIB}: grow the tmpfs or remove templates`);
  }
  await new SystemExec().run('cp', ['--sparse=always', templateRam, copy], { timeoutMs: 60_000 });
}
