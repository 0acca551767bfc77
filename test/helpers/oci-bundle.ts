// A minimal OCI bundle: a busybox rootfs (from Debian's busybox-static) and a config.json with the kernel
// filesystems `runc spec` and containerd give every container, then the test's binds.
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const APPLETS = ['sh', 'echo', 'cat', 'mount', 'df', 'ls', 'sleep', 'grep', 'stat', 'sync', 'tar', 'rm', 'mkdir', 'true', 'head', 'tail', 'awk', 'wc', 'date', 'dmesg'];

export interface BundleMount {
  destination: string;
  source: string;
  readonly?: boolean;
  /** A single file (the agent creates its mount point; no folder is made for it). */
  file?: boolean;
}

export function writeBundle(
  dir: string,
  args: string[],
  mounts: BundleMount[],
  user: { uid: number; gid: number; additionalGids?: number[] } = { uid: 0, gid: 0 },
  options: { readonlyRoot?: boolean } = {},
): string {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'tmp', ...mounts.filter((m) => !m.file).map((m) => m.destination.slice(1))]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      ociVersion: '1.0.2',
      process: { args, env: ['PATH=/bin'], cwd: '/', user },
      root: { path: 'rootfs', readonly: options.readonlyRoot ?? false },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
        { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
        ...mounts.map((m) => ({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.readonly ? 'ro' : 'rw'] })),
      ],
    }),
  );
  return dir;
}
