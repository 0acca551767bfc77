// What the runtime's end-to-end tests start from: a scratch folder (cleaned up after the test), the
// runtime's dependencies pointed into it, and one ext4 loop disk with a direct-volume record at `target`,
// as the CSI driver would leave it.
import { after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RecordStore, type MountInfo } from '../../src/directvolume/index.js';
import { runtimeDeps } from '../../src/cli/runtime-setup.js';
import type { SandboxDeps } from '../../src/runtime/sandbox/sandbox.js';
import { ext4LoopDisk, undoMountsAndLoops } from './host-cleanup.js';

export const sandboxSkip = process.getuid?.() !== 0 ? 'sandboxes need root (loop devices, QEMU)' : !existsSync('/usr/bin/qemu-system-x86_64') ? 'qemu-system-x86 is not installed: run scripts/setup.sh' : false;

export interface SandboxFixture {
  root: string;
  records: RecordStore;
  deps: SandboxDeps;
  dev: string;
  target: string;
}

export async function sandboxFixture(prefix: string, metadata: MountInfo['metadata'] = undefined): Promise<SandboxFixture> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  after(() => {
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });
  const dv = join(root, 'dv');
  const records = new RecordStore(dv);
  const deps = await runtimeDeps({ root: dv, runtimeRoot: join(root, 'sandboxes'), goShimRoot: join(root, 'sbs') }, pino({ level: 'silent' }));
  const { dev } = ext4LoopDisk(root);
  const target = join(root, 'target');
  mkdirSync(target);
  await records.add(target, { 'volume-type': 'directvol', device: dev, fstype: 'ext4', ...(metadata ? { metadata } : {}), options: ['rw', 'nosuid', 'nodev'] });
  return { root, records, deps, dev, target };
}

/** A scratch folder for tests that drive sandboxes through the CLI (shims outlive a call): its record and runtime roots. */
export function cliSandboxRoot(prefix: string): { root: string; dv: string; rt: string; records: RecordStore } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  after(() => {
    // Shims and their VMs are the CLI's children no longer: they are found by the folder in their argv.
    spawnSync('pkill', ['-KILL', '-f', root]);
    undoMountsAndLoops(root);
    rmSync(root, { recursive: true, force: true });
  });
  const dv = join(root, 'dv');
  return { root, dv, rt: join(root, 'rt'), records: new RecordStore(dv) };
}
