// The guest kernel loads most filesystem and network modules beside the agent (to start it sooner), so a
// mount can arrive before its module is in. Wait until the kernel knows the filesystem type, or until init
// says every module is loaded (then a missing type really is missing). NFS needs more than its type: nfs.ko
// registers "nfs" and "nfs4" before nfsv3.ko/nfsv4.ko register the protocol versions (a mount in between
// fails with "Protocol not supported"), and the guest network comes up after them, so an NFS mount waits
// for init's network mark (set once the NFS module group is in).
import { readFile, stat } from 'node:fs/promises';
import { MODULES_READY_MARK, NETWORK_READY_MARK } from '../protocol/index.js';

async function kernelKnows(fstype: string, procFilesystems: string): Promise<boolean> {
  const text = await readFile(procFilesystems, 'utf8').catch(() => '');
  return text.split('\n').some((l) => l.split('\t').pop()?.trim() === fstype);
}

const exists = (path: string) => stat(path).then(() => true, () => false);

export async function waitForFilesystem(
  fstype: string,
  timeoutMs: number,
  paths = { procFilesystems: '/proc/filesystems', readyMark: MODULES_READY_MARK, networkMark: NETWORK_READY_MARK },
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const network = fstype === 'nfs' || fstype === 'nfs4';
  for (;;) {
    if (network ? await exists(paths.networkMark) : await kernelKnows(fstype, paths.procFilesystems)) return;
    if ((await exists(paths.readyMark)) || performance.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
