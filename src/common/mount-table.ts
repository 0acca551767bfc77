// The kernel's view of mounts (/proc/self/mountinfo), the source of truth after a restart.
import { readFileSync, statSync } from 'node:fs';
import { majorMinor } from './block-devices.js';

export interface MountEntry {
  majorMinor: string;
  root: string;
  mountPoint: string;
  options: string;
  fstype: string;
  source: string;
  /** The filesystem's own options (a cgroup v1 hierarchy names its controllers here). */
  superOptions: string;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 6) continue;
    out.push({
      majorMinor: fields[2] ?? '',
      root: unescape(fields[3] ?? ''),
      mountPoint: unescape(fields[4] ?? ''),
      options: fields[5] ?? '',
      fstype: fields[sep + 1] ?? '',
      source: unescape(fields[sep + 2] ?? ''),
      superOptions: fields[sep + 3] ?? '',
    });
  }
  return out;
}

// Read in one synchronous call: the kernel generates the text in memory, and a thread-pool trip per chunk cost
// more than the read itself.
export async function readMountTable(): Promise<MountEntry[]> {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await readMountTable()).some((m) => m.mountPoint === path);
}

/** Where a block device is mounted on the host (matched by device number, so any alias path counts). */
export async function mountsOfDevice(devicePath: string, table?: MountEntry[]): Promise<MountEntry[]> {
  const st = statSync(devicePath);
  const mm = majorMinor(st.rdev);
  return (table ?? (await readMountTable())).filter((m) => m.majorMinor === mm);
}

/** Where a device node itself is bind-mounted (raw block volumes): those mounts sit on devtmpfs. */
export async function bindMountsOfDeviceNode(devicePath: string): Promise<MountEntry[]> {
  const rel = devicePath.replace(/^\/dev\//, '/');
  return (await readMountTable()).filter((m) => m.fstype === 'devtmpfs' && m.root === rel);
}
