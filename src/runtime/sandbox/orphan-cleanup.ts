// After a crash of the runtime or of the VM, what is left is found from the sandbox folders: a sandbox
// whose owning process is gone gets its VM killed, its volume bindings released and its sockets removed.
// Data is never touched: disks are only unplugged (with the VM) and records keep their mount info.
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { processesNaming } from '../../common/processes.js';
import type { RecordStore } from '../../directvolume/index.js';
import { isAlive, runtimeAlive, vmAlive, type SandboxDirs } from './sandbox-dir.js';
import { releaseShares } from './sandbox-shares.js';

export interface CleanupReport {
  sandbox: string;
  killedVm: boolean;
  releasedVolumes: string[];
}

async function killAndWait(pid: number, log: Logger): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  if (isAlive(pid)) log.warn({ pid }, 'VM process did not exit after SIGKILL');
}

export async function cleanupOrphans(sandboxes: SandboxDirs, records: RecordStore, log: Logger, options: { only?: string } = {}): Promise<CleanupReport[]> {
  const out: CleanupReport[] = [];
  for (const id of await sandboxes.list()) {
    if (options.only !== undefined && id !== options.only) continue;
    const state = await sandboxes.read(id).catch(() => undefined);
    if (state && runtimeAlive(state) && state.runtimePid !== process.pid) continue;
    const report: CleanupReport = { sandbox: id, killedVm: false, releasedVolumes: [] };
    // Only our VM: a pid reused by another process since is never signalled.
    if (state?.vmPid && vmAlive(state.vmPid, sandboxes.dir(id))) {
      await killAndWait(state.vmPid, log);
      report.killedVm = true;
    }
    // Helpers of the VM (virtiofsd) outlive a killed QEMU; they are known by the sandbox folder in their argv.
    for (const pid of processesNaming(sandboxes.dir(id))) await killAndWait(pid, log);
    for (const v of state?.boundVolumes ?? []) {
      await records.releaseSandbox(v.volumePath, id).catch((e: Error) => log.warn({ err: e.message, volume: v.volumePath }, 'could not release binding'));
      report.releasedVolumes.push(v.volumePath);
    }
    // Bindings the state file did not get to record (crash between bind and state write).
    for (const entry of await records.list()) {
      if (entry.record?.sandboxId === id && entry.volumePath && !report.releasedVolumes.includes(entry.volumePath)) {
        await records.releaseSandbox(entry.volumePath, id);
        report.releasedVolumes.push(entry.volumePath);
      }
    }
    // The monitor socket's folder (<shim root>/<id>/) belongs to the sandbox alone.
    if (state?.monitorSocket) await rm(dirname(state.monitorSocket), { recursive: true, force: true });
    releaseShares(sandboxes.dir(id));
    await sandboxes.remove(id);
    log.info(report, 'cleaned up a sandbox whose runtime is gone');
    out.push(report);
  }
  return out;
}

