// After a crash of the runtime or of the VM, what is left is found from the sandbox folders: a sandbox
// whose owning process is gone gets its VM stopped, its volume bindings released and its sockets removed.
// Data is never touched: a VM still running is first asked, through its agent, to stop its containers,
// unmount its volumes and sync (as a sandbox's own teardown does), so no write in the guest's page cache is
// lost; disks are only unplugged with the VM, and records keep their mount info. A VM that will not die
// keeps its bindings, so no other sandbox can take a disk it still has open; the next gc tries again.
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { processesNaming, signalAndWait } from '../../common/processes.js';
import type { RecordStore } from '../../directvolume/index.js';
import { AgentClient } from '../agent-client.js';
import { agentSocketPath, runtimeAlive, vmAlive, type SandboxDirs } from './sandbox-dir.js';
import { releaseShares } from './sandbox-shares.js';
import { SystemExec } from '../../common/exec.js';
import { disconnectPodNetwork } from '../network/pod-network.js';
import { removeCgroupDirs } from './pod-cgroup.js';

export interface CleanupReport {
  sandbox: string;
  killedVm: boolean;
  /** The guest stopped its containers, unmounted and synced before its VM was ended. */
  guestShutdown: boolean;
  releasedVolumes: string[];
  /** Its folder could not be removed (a mount in it would not go); the next gc tries again. */
  folderKept?: boolean;
  /** A cgroup of the pod's that still had processes in it. */
  cgroupsKept?: boolean;
}

/** How long a guest gets to stop its containers, unmount and sync; its agent must first answer a ping. */
const GUEST_SHUTDOWN_MS = 60_000;
const GUEST_PING_MS = 3000;
const TERM_WAIT_MS = 5000;
const KILL_WAIT_MS = 10_000;


/** The guest's own clean stop, through QEMU's socket for the agent (free once the runtime that held it died). */
async function shutdownGuest(sandboxDir: string, log: Logger): Promise<boolean> {
  let agent: AgentClient | undefined;
  try {
    agent = await AgentClient.connect(agentSocketPath(sandboxDir), log, 1000);
    await agent.call('ping', {}, GUEST_PING_MS);
    await agent.call('shutdown', {}, GUEST_SHUTDOWN_MS);
    return true;
  } catch (e) {
    log.warn({ err: (e as Error).message, sandboxDir }, 'the guest did not stop cleanly; its VM is ended without it');
    return false;
  } finally {
    agent?.close();
  }
}

/** Stops the VM: the guest's clean stop, then SIGTERM (QEMU flushes its disks), then SIGKILL. True once it is gone. */
async function stopVm(pid: number, sandboxDir: string, log: Logger, report: CleanupReport): Promise<boolean> {
  report.guestShutdown = await shutdownGuest(sandboxDir, log);
  if (await signalAndWait(pid, 'SIGTERM', TERM_WAIT_MS)) return true;
  report.killedVm = true;
  if (await signalAndWait(pid, 'SIGKILL', KILL_WAIT_MS)) return true;
  log.warn({ pid }, 'the VM process did not exit after SIGKILL (stuck in I/O?): its volumes stay bound; run gc again later');
  return false;
}

export async function cleanupOrphans(sandboxes: SandboxDirs, records: RecordStore, log: Logger, options: { only?: string } = {}): Promise<CleanupReport[]> {
  const out: CleanupReport[] = [];
  for (const id of await sandboxes.list()) {
    if (options.only !== undefined && id !== options.only) continue;
    const state = await sandboxes.read(id).catch(() => undefined);
    if (state && runtimeAlive(state) && state.runtimePid !== process.pid) continue;
    const report: CleanupReport = { sandbox: id, killedVm: false, guestShutdown: false, releasedVolumes: [] };
    // Only our VM: a pid reused by another process since is never signalled.
    if (state?.vmPid && vmAlive(state.vmPid, sandboxes.dir(id)) && !(await stopVm(state.vmPid, sandboxes.dir(id), log, report))) continue;
    // Helpers of the VM (virtiofsd) outlive a killed QEMU; they are known by the sandbox folder in their argv.
    for (const pid of processesNaming(sandboxes.dir(id))) {
      if (!(await signalAndWait(pid, 'SIGKILL', KILL_WAIT_MS))) log.warn({ pid }, 'a helper of the VM did not exit after SIGKILL');
    }
    // The VM and its taps are gone: the pod's interfaces lose their redirects.
    if (state?.podNetwork) await disconnectPodNetwork(new SystemExec(), state.podNetwork.netns, state.podNetwork.interfaces);
    // The pod's cgroup the runtime joined is empty now that the runtime and the VM are gone (once they are reaped).
    if (state?.cgroupDirs && (await removeCgroupDirs(state.cgroupDirs, log)).length > 0) report.cgroupsKept = true;
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
    // A folder with a mount that will not go is kept (removing it would delete what the mount shows); the
    // other sandboxes are still cleaned, and the next gc tries this one again.
    // A cgroup still busy keeps the sandbox's state, so that the next gc removes it (kubelet cannot remove the
    // pod's cgroup while it is there).
    if (report.cgroupsKept) {
      log.warn({ sandbox: id }, "the pod's cgroup is still in use: the sandbox's state is kept for the next gc");
      out.push(report);
      continue;
    }
    await sandboxes.remove(id).catch((e: Error) => {
      log.warn({ sandbox: id, err: e.message }, 'sandbox folder kept');
      report.folderKept = true;
    });
    log.info(report, 'cleaned up a sandbox whose runtime is gone');
    out.push(report);
  }
  return out;
}

