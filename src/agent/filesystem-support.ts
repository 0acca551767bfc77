// The guest kernel loads most filesystem and network modules beside the agent (to start it sooner), so a
// mount can arrive before its module is in. Wait until the kernel knows the filesystem type, or until init
// says every module is loaded (then a missing type really is missing). NFS needs more than its type: nfs.ko
// registers "nfs" and "nfs4" before nfsv3.ko/nfsv4.ko register the protocol versions (a mount in between
// fails with "Protocol not supported"), and the guest network comes up only after the modules, so an NFS
// mount waits for init's mark.
import { readFile, stat } from 'node:fs/promises';
import { MODULES_READY_MARK } from '../protocol/index.js';

async function kernelKnows(fstype: string, procFilesystems: string): Promise<boolean> {
  const text = await readFile(procFilesystems, 'utf8').catch(() => '');
  return text.split('\n').some((l) => l.split('\t').pop()?.trim() === fstype);
}

export async function waitForFilesystem(fstype: string, timeoutMs: number, paths = { procFilesystems: '/proc/filesystems', readyMark: MODULES_READY_MARK }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const network = fstype === 'nfs' || fstype === 'nfs4';
  for (;;) {
    if (!network && (await kernelKnows(fstype, paths.procFilesystems))) return;
    const ready = await stat(paths.readyMark).then(() => true, () => false);
    if (ready || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
