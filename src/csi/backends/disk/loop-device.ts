// Loop devices: the embedded pool "attaches" a disk image to the node as /dev/loopN.
import { z } from 'zod';
import type { Exec } from '../../../common/exec.js';

const LosetupList = z.object({
  loopdevices: z.array(z.object({ name: z.string(), 'back-file': z.string().nullable(), ro: z.union([z.boolean(), z.string()]).optional() })).default([]),
});

export class LoopDevices {
  constructor(private readonly exec: Exec) {}

  /** Loop devices currently backed by the file. */
  async devicesOf(file: string): Promise<string[]> {
    const r = await this.exec.run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE,RO']);
    if (r.stdout.trim() === '') return [];
    const parsed = LosetupList.parse(JSON.parse(r.stdout));
    // The kernel appends " (deleted)" when the file was unlinked while attached.
    return parsed.loopdevices.filter((d) => d['back-file'] === file).map((d) => d.name);
  }

  async attach(file: string, readonly: boolean): Promise<string> {
    const existing = await this.devicesOf(file);
    if (existing[0] !== undefined) return existing[0];
    const r = await this.exec.run('losetup', ['--find', '--show', ...(readonly ? ['--read-only'] : []), file]);
    return r.stdout.trim();
  }

  async detachAll(file: string): Promise<void> {
    for (const dev of await this.devicesOf(file)) await this.exec.run('losetup', ['--detach', dev], { okCodes: [1] });
  }

  /** Tells attached devices the file grew. */
  async refreshCapacity(file: string): Promise<void> {
    for (const dev of await this.devicesOf(file)) await this.exec.run('losetup', ['--set-capacity', dev]);
  }
}
