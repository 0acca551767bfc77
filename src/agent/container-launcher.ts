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
// In both cases the real process is the only child of the process the agent spawned (its grandchild behind
// script, with a terminal), which waits for it and exits with its status (or dies of its signal);
// `findChildPid` finds it so signals reach it directly.
// Before anything of the container runs, the launching shell joins the container's cgroup and takes its
// OOM score (the agent's is -1000, which its children would otherwise inherit): for an exec, a small
// `sh -c ENTER_SCRIPT` in front of nsenter does it, then execs nsenter.
import { readFile, readdir } from 'node:fs/promises';
import { AgentError } from '../protocol/index.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * POSIX sh, run by busybox in the container's fresh namespaces. $1 rootfs, $2 proc dir, $3 busybox, $4 the
 * cgroup's cgroup.procs (or ""), $5 the OOM score, $6 a terminal's size as stty's words (or ""); then the command.
 */
export const LAUNCH_SCRIPT = `R=$1; P=$2; BB=$3; CG=$4; OOM=$5; TTY=$6; shift 6
{ [ -z "$CG" ] || echo 0 > "$CG"; } && echo "$OOM" > /proc/self/oom_score_adj || exit 125
[ -z "$TTY" ] || "$BB" stty $TTY || exit 125
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

/**
 * Where a container's processes go: its cgroup (none where the agent makes none) and their OOM score; and,
 * with a terminal (see terminalCommand), its size, which the pty takes before the process runs.
 */
export interface Placement {
  readonly cgroupProcs?: string;
  readonly oomScoreAdj: number;
  readonly terminal?: { rows: number; cols: number };
  /** OCI noNewPrivileges (Kubernetes' allowPrivilegeEscalation: false): setuid bits and file caps grant nothing. */
  readonly noNewPrivileges?: boolean;
  /**
   * caps-exec's five masks (capabilities.ts), and the descriptor the agent holds it open on, when the
   * process's capabilities are to be narrowed. It is then the last step: nsenter enters the root as root,
   * and caps-exec, run there as /proc/self/fd/N, narrows the bounding set, takes the groups, gid and uid,
   * sets the capabilities and execs the program.
   */
  readonly capabilities?: { masks: readonly string[]; helperFd: number };
}

/** `busybox setpriv --nnp` in front of the last launcher, when asked: inherited by every process after. */
const nnp = (l: Launchers, at: Placement): string[] => (at.noNewPrivileges ? [l.busybox, 'setpriv', '--nnp'] : []);

/** In front of a terminal's process: $1 busybox sizes the pty ($2, stty's words), then the command. */
export const TTY_SCRIPT = `"$1" stty $2 || exit 125
shift 2
exec "$@"`;

const sttyWords = (t: { rows: number; cols: number }): string => `rows ${Math.trunc(t.rows)} cols ${Math.trunc(t.cols)}`;

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

/**
 * The same command with a terminal: util-linux `script` opens a pty, makes it the command's stdin, stdout
 * and stderr, and relays it to its own pipes (what it reads on stdin goes in, and end of input as an
 * end-of-file keystroke; the pty echoes, as a terminal does). script runs the command through $SHELL -c:
 * SHELL is ours, and the command's words travel as variables of script's environment (one argument holds at
 * most 128 KiB; a container's environment may be larger), which the `env -i` inside clears. The command is
 * built for a terminal (Placement.terminal): the pty is sized, and the container process made the leader of
 * a session whose terminal it is (`setsid -c`), as runc does, before it runs: Ctrl-C and Ctrl-Z reach it, not
 * the launcher waiting on it. Nothing forks on the way to it but the launcher: it stays the grandchild.
 */
export function terminalCommand(l: Launchers & { script: string }, cmd: Command): Command {
  const env = Object.entries(cmd.env).map(([k, v]) => `${k}=${v}`);
  const words = [l.busybox, 'env', '-i', '--', ...env, cmd.file, ...cmd.args];
  const vars = Object.fromEntries(words.map((w, i) => [`${WORD}${i}`, w]));
  const quoted = words.map((_, i) => `"$${WORD}${i}"`).join(' ');
  return {
    file: l.script,
    args: ['--quiet', '--return', '--command', `exec ${quoted}`, '/dev/null'],
    env: { ...LAUNCHER_ENV, SHELL: '/bin/sh', ...vars },
    ...(cmd.fds ? { fds: cmd.fds } : {}),
    depth: (cmd.depth ?? 1) + 1,
    terminal: true,
  };
}

/** The prefix of the variables a terminal's command words travel in. */
const WORD = 'PASSVOL_W';

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

/**
 * The last launcher's words (busybox's): nsenter takes the user itself (behind setpriv, placed by the caller,
 * with supplementary groups), or leaves it to caps-exec, which must narrow the bounding set as root first.
 */
function lastStep(id: LaunchIdentity, nsenter: string[], capabilities: Placement['capabilities'], fdInChild: number, after: string[] = []): string[] {
  if (!capabilities) return [...nsenter, ...nsenterIdentity(id), ...after, '--', ...id.args];
  const groups = withGroups(id) ? [...new Set([id.gid, ...(id.additionalGids ?? [])])].join(',') : '-';
  const helper = [`/proc/self/fd/${fdInChild}`, String(fdInChild), String(id.uid), String(id.gid), groups, ...capabilities.masks, '--'];
  return [...nsenter, `-w${id.cwdHost}`, ...after, '--', ...helper, ...id.args];
}

/** The last launcher as a command: behind setpriv for supplementary groups, unless caps-exec sets them. */
function lastCommand(l: Launchers, id: LaunchIdentity, words: string[], capabilities: Placement['capabilities']): { file: string; args: string[] } {
  return capabilities ? { file: l.busybox, args: words } : launch(l, id, words);
}

export function initCommand(l: Launchers, rootfsHost: string, procHost: string, env: readonly string[], id: LaunchIdentity, at: Placement): Command {
  const { busybox } = l;
  // setpriv for supplementary groups goes in front of it all (it changes only groups and gid; root stays root).
  const last = lastStep(id, ['nsenter', `-r${rootfsHost}`], at.capabilities, FIRST_PASSED_FD, ['-F']);
  return {
    ...lastCommand(l, id, [
      'unshare', '-m', '-p', '-f', '--propagation', 'private',
      busybox, 'sh', '-c', LAUNCH_SCRIPT, 'passvol-launch', rootfsHost, procHost, busybox, at.cgroupProcs ?? '', String(at.oomScoreAdj), at.terminal ? sttyWords(at.terminal) : '',
      ...(at.terminal ? [busybox, 'setsid', '-c'] : []),
      busybox, 'env', '-i', '--', ...env,
      ...nnp(l, at),
      busybox, ...last,
    ], at.capabilities),
    env: { ...LAUNCHER_ENV },
    ...(at.capabilities ? { fds: [at.capabilities.helperFd] } : {}),
  };
}

/**
 * `cwdFd`: the working directory, already resolved in the container's root and pinned by a descriptor
 * (secure-join.ts openDirInRoot). nsenter is given it as /proc/self/fd/3, not as a path it would walk again
 * while the running container may swap a name on the way for a symlink out of its root.
 */
export function execCommand(l: Launchers, initPid: number, env: readonly string[], id: Omit<LaunchIdentity, 'cwdHost'>, cwdFd: number, placement: Placement): Command {
  const at = { ...id, cwdHost: `/proc/self/fd/${FIRST_PASSED_FD}` };
  const enter = ['sh', '-c', ENTER_SCRIPT, 'passvol-enter', placement.cgroupProcs ?? '', String(placement.oomScoreAdj)];
  const { busybox } = l;
  let rest: string[];
  if (placement.terminal) {
    // The PID namespace first (nsenter forks there); in the child, the pty is sized (its stty is one more
    // generation down), the child leads a session on it, takes the container's environment, and a second
    // nsenter (which does not fork) its mount namespace, root and identity.
    const joined = lastCommand(l, at, lastStep(at, ['nsenter', '-t', String(initPid), '-m', '-r'], placement.capabilities, FIRST_PASSED_FD + 1), placement.capabilities);
    rest = [busybox, 'nsenter', '-t', String(initPid), '-p', '--', busybox, 'sh', '-c', TTY_SCRIPT, 'passvol-tty', busybox, sttyWords(placement.terminal), busybox, 'setsid', '-c', busybox, 'env', '-i', '--', ...env, ...nnp(l, placement), joined.file, ...joined.args];
  } else {
    const joined = lastCommand(l, at, lastStep(at, ['nsenter', '-t', String(initPid), '-m', '-p', '-r'], placement.capabilities, FIRST_PASSED_FD + 1), placement.capabilities);
    rest = [busybox, 'env', '-i', '--', ...env, ...nnp(l, placement), joined.file, ...joined.args];
  }
  return {
    file: busybox,
    args: [...enter, ...rest],
    env: { ...LAUNCHER_ENV },
    fds: [cwdFd, ...(placement.capabilities ? [placement.capabilities.helperFd] : [])],
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
