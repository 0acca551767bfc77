// Builds the command lines that start container processes, using busybox applets only (the guest's
// userland; on a test host, busybox-static):
//
//   init:  busybox unshare -m -p -f --propagation private  busybox sh -c LAUNCH_SCRIPT ...
//          -> in a new mount and PID namespace: mount /proc in the rootfs, detach every mount that is
//             neither the rootfs' ancestor nor inside it (so the container never pins another volume),
//             then  busybox env -i -- ENV...  busybox nsenter -r<rootfs> -w<cwd> -G gid -S uid -F -- ARGS
//             which chroots, clears supplementary groups, drops to uid/gid and execs ARGS as PID 1
//             (with additionalGids, `setpriv --regid --groups` sets them in front of it all instead).
//   exec:  busybox env -i -- ENV...  busybox nsenter -t <init pid> -m -p -r -w<cwd> -G gid -S uid -- ARGS
//          -> joins the init's mount and PID namespaces and root (nsenter forks to enter the PID namespace).
//
// In both cases the real process is the only child of the process the agent spawned, which waits for it
// and exits with its status (or dies of its signal); `findChildPid` finds it so signals reach it directly.
// Before anything of the container runs, the launching shell joins the container's cgroup and takes its
// OOM score (the agent's is -1000, which its children would otherwise inherit): for an exec, a small
// `sh -c ENTER_SCRIPT` in front of nsenter does it, then execs nsenter.
import { readFile, readdir } from 'node:fs/promises';
import { AgentError } from '../protocol/index.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** POSIX sh, run by busybox in the container's fresh namespaces. $1 rootfs, $2 proc dir; then the command. */
export const LAUNCH_SCRIPT = `R=$1; P=$2; BB=$3; CG=$4; OOM=$5; shift 5
{ [ -z "$CG" ] || echo 0 > "$CG"; } && echo "$OOM" > /proc/self/oom_score_adj || exit 125
M=$("$BB" cat /proc/self/mountinfo) || exit 125
"$BB" mount -t proc -o nosuid,nodev,noexec proc "$P" || exit 125
while read -r _id _parent _dev _root mp _rest; do
  [ "$mp" = / ] && continue
  case "$R" in "$mp"/*) continue;; esac
  case "$mp" in "$R"|"$R"/*) continue;; esac
  "$BB" umount -l "$mp" 2>/dev/null
done <<PASSVOL_MOUNTS
$M
PASSVOL_MOUNTS
exec "$@"`;

/**
 * In front of an exec's nsenter: $1 the cgroup's cgroup.procs (or ""), $2 the OOM score; then the command.
 * It runs with the launcher's environment and sets no variable: the container's environment is applied
 * after it by `env -i`, as the shell would drop or rewrite some of it (names that are not identifiers).
 */
export const ENTER_SCRIPT = `{ [ -z "$1" ] || echo 0 > "$1"; } && echo "$2" > /proc/self/oom_score_adj || exit 125
shift 2
exec "$@"`;

/** Where a container's processes go: its cgroup (none where the agent makes none) and their OOM score. */
export interface Placement {
  readonly cgroupProcs?: string;
  readonly oomScoreAdj: number;
}

/** The environment the launcher itself runs with; the container's own is applied by `env -i`. */
export const LAUNCHER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } as const;

export interface LaunchIdentity {
  /** Host path of the working directory, already resolved inside the rootfs. */
  readonly cwdHost: string;
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids?: readonly number[];
  readonly args: readonly string[];
}

/** The launcher binaries: busybox always; setpriv when processes have supplementary groups. */
export interface Launchers {
  readonly busybox: string;
  readonly setpriv?: string;
}

export interface Command {
  readonly file: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  /** Descriptors the process gets as fd 3, 4, ... (an exec's working directory, pinned). */
  readonly fds?: readonly number[];
  /** How far below the spawned process the container process is: 1, the launcher's child; 2 behind script. */
  readonly depth?: number;
  /** Behind script, with a pty (terminalCommand). */
  readonly terminal?: boolean;
}

/** One word for sh: in single quotes, a quote inside closed, escaped and reopened. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The same command with a terminal: util-linux `script` opens a pty, makes it the command's stdin, stdout
 * and stderr, and relays it to its own pipes (what it reads on stdin goes in, and end of input as the
 * terminal's end-of-file; the pty echoes, as a terminal does). script runs the command through $SHELL -c, so
 * SHELL is ours and the command's environment is handed over by `env -i` inside, never to script.
 */
export function terminalCommand(l: Launchers & { script: string }, cmd: Command): Command {
  const env = Object.entries(cmd.env).map(([k, v]) => `${k}=${v}`);
  const inner = [l.busybox, 'env', '-i', '--', ...env, cmd.file, ...cmd.args];
  return {
    file: l.script,
    args: ['--quiet', '--return', '--command', `exec ${inner.map(shellQuote).join(' ')}`, '/dev/null'],
    env: { ...LAUNCHER_ENV, SHELL: '/bin/sh' },
    ...(cmd.fds ? { fds: cmd.fds } : {}),
    depth: (cmd.depth ?? 1) + 1,
    terminal: true,
  };
}

/** How the launched process names the first descriptor of `Command.fds`. */
export const FIRST_PASSED_FD = 3;

function withGroups(id: LaunchIdentity): boolean {
  return (id.additionalGids ?? []).length > 0;
}

function nsenterIdentity(id: LaunchIdentity): string[] {
  return withGroups(id) ? [`-w${id.cwdHost}`, '-S', String(id.uid)] : [`-w${id.cwdHost}`, '-G', String(id.gid), '-S', String(id.uid)];
}

/** `file args...`, behind setpriv when the process has supplementary groups. */
function launch(l: Launchers, id: LaunchIdentity, args: string[]): { file: string; args: string[] } {
  if (!withGroups(id)) return { file: l.busybox, args };
  if (!l.setpriv) throw new AgentError('FAILED_PRECONDITION', 'the process has supplementary groups (fsGroup), but setpriv is not in the guest image');
  const groups = [...new Set([id.gid, ...(id.additionalGids ?? [])])].join(',');
  return { file: l.setpriv, args: [`--regid=${id.gid}`, `--groups=${groups}`, '--', l.busybox, ...args] };
}

export function initCommand(l: Launchers, rootfsHost: string, procHost: string, env: readonly string[], id: LaunchIdentity, at: Placement): Command {
  const { busybox } = l;
  return {
    ...launch(l, id, [
      'unshare', '-m', '-p', '-f', '--propagation', 'private',
      busybox, 'sh', '-c', LAUNCH_SCRIPT, 'passvol-launch', rootfsHost, procHost, busybox, at.cgroupProcs ?? '', String(at.oomScoreAdj),
      busybox, 'env', '-i', '--', ...env,
      busybox, 'nsenter', `-r${rootfsHost}`, ...nsenterIdentity(id), '-F', '--', ...id.args,
    ]),
    env: { ...LAUNCHER_ENV },
  };
}

/**
 * `cwdFd`: the working directory, already resolved in the container's root and pinned by a descriptor
 * (secure-join.ts openDirInRoot). nsenter is given it as /proc/self/fd/3, not as a path it would walk again
 * while the running container may swap a name on the way for a symlink out of its root.
 */
export function execCommand(l: Launchers, initPid: number, env: readonly string[], id: Omit<LaunchIdentity, 'cwdHost'>, cwdFd: number, placement: Placement): Command {
  const at = { ...id, cwdHost: `/proc/self/fd/${FIRST_PASSED_FD}` };
  const inner = launch(l, at, ['nsenter', '-t', String(initPid), '-m', '-p', '-r', ...nsenterIdentity(at), '--', ...id.args]);
  return {
    file: l.busybox,
    args: ['sh', '-c', ENTER_SCRIPT, 'passvol-enter', placement.cgroupProcs ?? '', String(placement.oomScoreAdj), l.busybox, 'env', '-i', '--', ...env, inner.file, ...inner.args],
    env: { ...LAUNCHER_ENV },
    fds: [cwdFd],
  };
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: scan every process's parent.
    const found: number[] = [];
    for (const name of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(name)) continue;
      const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(name));
    }
    return found;
  }
}

/**
 * The container process: the launcher's child (or `depth` generations down), waiting up to `waitMs` for the
 * forks to happen. Also says which process the container process is the child of.
 */
export async function findChildPid(launcherPid: number, isRunning: () => boolean, waitMs = 2000, depth = 1): Promise<{ pid: number; parent: number } | undefined> {
  const deadline = performance.now() + waitMs;
  let parent = launcherPid;
  while (isRunning() && performance.now() < deadline) {
    const [child] = await childrenOf(parent);
    if (child !== undefined) {
      if (--depth === 0) return { pid: child, parent };
      parent = child;
      continue;
    }
    await sleep(2);
  }
  return undefined;
}
