// Whatever a demo, benchmark or test left mounted or attached under its scratch folder is undone, deepest
// mount first, so a failure never leaks into the next run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function undoMountsAndLoops(root: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${root}/`))
    .sort()
    .reverse();
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      /* already gone */
    }
  }
  const loops = execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' });
  for (const line of loops.split('\n')) {
    const [dev, file] = line.trim().split(/\s+/);
    if (dev && file?.startsWith(`${root}/`)) {
      try {
        execFileSync('losetup', ['-d', dev]);
      } catch {
        /* already gone */
      }
    }
  }
}
