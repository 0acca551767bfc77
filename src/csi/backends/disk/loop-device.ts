// Loop devices: the embedded pool "attaches" a disk image to the node as /dev/loopN.
import { z } from 'zod';
import { readFile, readdir } from 'node:fs/promises';
import type { Exec } from '../../../common/exec.js';

async function devicesFromSysfs(file: string): Promise<string[] | undefined> {
  let names: string[];
  try {
    names = (await readdir('/sys/block')).filter((n) => /^loop\d+$/.test(n));
  } catch {
    return undefined;
  }
  const out: string[] = [];
  for (const n of names) {
    const backing = await readFile(`/sys/block/${n}/loop/backing_file`, 'utf8').catch(() => undefined);
    if (backing?.trim() === file) out.push(`/dev/${n}`);
  }
  return out;
}

const LosetupList = z.object({
  loopdevices: z.array(z.object({ name: z.string(), 'back-file': z.string().nullable(), ro: z.union([z.boolean(), z.string()]).optional() })).default([]),
});

export class LoopDevices {
  constructor(private readonly exec: Exec) {}

  /** Loop devices currently backed by the file: read from sysfs (no process per call), losetup as fallback. */
  async devicesOf(file: string): Promise<string[]> {
    const fromSysfs = await devicesFromSysfs(file);
    if (fromSysfs) return fromSysfs;
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
