// `passvol create|start|state|kill|exec|delete`, in the style of runc, so a higher layer can drive a
// sandbox step by step: create starts a shim process that holds the sandbox (runtime/shim/), the other
// commands reach it over its control socket, and state reads the sandbox folder.
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { PassvolError, failedPrecondition, invalidArgument, isErrorCode, notFound } from '../../common/errors.js';
import { createLogger } from '../../common/logger.js';
import { READY_FD, spawnWithReadyPipe } from '../../common/ready-pipe.js';
import { RecordStore, resolveDirectVolumeRoot, validateSandboxId } from '../../directvolume/index.js';
import { readBundle } from '../../runtime/oci/bundle.js';
import { CONTROL_SOCKET, ShimReady, SIGNALS } from '../../runtime/shim/control-api.js';
import { ShimClient } from '../../runtime/shim/control-client.js';
import { runSandboxShim } from '../../runtime/shim/sandbox-shim.js';
import { cleanupOrphans } from '../../runtime/sandbox/orphan-cleanup.js';
import { MAIN_CONTAINER } from '../../runtime/sandbox/sandbox.js';
import { DEFAULT_RUNTIME_ROOT, SandboxDirs, runtimeAlive, type SandboxState } from '../../runtime/sandbox/sandbox-dir.js';
import { runtimeDeps, VM_TEMPLATES_HELP, type RuntimeFlags } from '../runtime-setup.js';
import { logLevelHelp } from '../log-level.js';
import { parseFlags } from '../parse-flags.js';

const logOf = (runtimeRoot: string, id: string) => join(runtimeRoot, '.shim-logs', `${id}.log`);

/** TERM, SIGTERM, 15 -> SIGTERM (the numbers are this host's, as kill(1) takes them). */
export function parseSignal(raw: string): (typeof SIGNALS)[number] {
  const byNumber = Object.entries(osConstants.signals).find(([, n]) => String(n) === raw)?.[0];
  const name = byNumber ?? (raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`);
  const r = z.enum(SIGNALS).safeParse(name);
  if (!r.success) throw invalidArgument(`unknown signal "${raw}"; use one of ${SIGNALS.join(', ')}`);
  return r.data;
}

function runtimeOptions(cmd: Command): Command {
  return cmd
    .option('--root <dir>', "direct-volume root (default: $KATA_DIRECT_VOLUME_ROOT_PATH or Kata's)")
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--go-shim-root <dir>', 'where monitor sockets go (default /run/vc/sbs, as Kata)')
    .option('--image <manifest>', 'guest image manifest (default: the one `passvol image build` made)')
    .addOption(new Option('--share <kind>', 'how plain bind mounts and the rootfs reach the guest').choices(['virtiofs', '9p']).default('virtiofs'))
    .option('--memory <MiB>', 'guest memory', '512')
    .option('--cpus <n>', 'guest CPUs', '1')
    .option('--vm-templates <dir>', VM_TEMPLATES_HELP)
    .option('--log-level <level>', logLevelHelp('runtime log level', 'warn'));
}

type CreateFlags = RuntimeFlags & { bundle: string; runtimeRoot: string; logLevel?: string };
const FLAG_NAMES = ['root', 'runtimeRoot', 'goShimRoot', 'image', 'share', 'memory', 'cpus', 'vmTemplates', 'logLevel'] as const;
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The shim of sandbox `sandbox`, for a container added to it (`--sandbox`). */
function shimOf(runtimeRoot: string, sandbox: string): ShimClient {
  return new ShimClient(new SandboxDirs(runtimeRoot).dir(validateSandboxId(sandbox)), sandbox);
}

/**
 * Who answers for container `id`: with `--sandbox`, that sandbox's shim, naming the container it was added
 * as; without, the shim of sandbox `id` for its own container.
 */
function targetOf(runtimeRoot: string, id: string, sandbox: string | undefined): { shim: ShimClient; container: string | undefined } {
  return sandbox ? { shim: shimOf(runtimeRoot, sandbox), container: id } : { shim: shimOf(runtimeRoot, id), container: undefined };
}

/** A container added to a sandbox, as `state` prints it. */
async function addedContainer(runtimeRoot: string, sandbox: string, id: string) {
  const c = (await shimOf(runtimeRoot, sandbox).containers()).find((x) => x.id === id);
  if (!c) throw notFound(`sandbox ${sandbox} has no container ${id}`);
  return c;
}

async function create(idArg: string, o: CreateFlags & { sandbox?: string }): Promise<void> {
  const bundle = await readBundle(o.bundle);
  if (o.sandbox) {
    // A pod's other container: it joins the running sandbox (its VM, its volumes) instead of starting one.
    await shimOf(o.runtimeRoot, o.sandbox).addContainer(idArg, bundle.dir);
    return;
  }
  const id = validateSandboxId(idArg);
  const dirs = new SandboxDirs(o.runtimeRoot);
  if (await dirs.read(id)) throw new PassvolError('PV_ERR_ALREADY_EXISTS', `sandbox ${id} exists; \`passvol delete ${id}\` first`);
  const log = logOf(o.runtimeRoot, id);
  mkdirSync(join(o.runtimeRoot, '.shim-logs'), { recursive: true, mode: 0o700 });
  const fd = openSync(log, 'a', 0o600);
  const flags = FLAG_NAMES.flatMap((k) => (o[k] === undefined ? [] : [`--${kebab(k)}`, String(o[k])]));
  const line = await spawnWithReadyPipe([process.argv[1] as string, 'shim', id, '--bundle', bundle.dir, ...flags], { logFd: fd });
  const ready = line === undefined ? undefined : ShimReady.safeParse(JSON.parse(line));
  if (!ready?.success) throw new PassvolError('PV_ERR_INTERNAL', `the shim of sandbox ${id} ended without saying whether it started; see ${log}`);
  if (!ready.data.ok) throw new PassvolError(isErrorCode(ready.data.code) ? ready.data.code : 'PV_ERR_INTERNAL', ready.data.message);
}

async function shim(id: string, o: CreateFlags): Promise<void> {
  const log = createLogger({ level: o.logLevel, defaultLevel: 'warn' }).child({ part: 'shim', sandbox: id });
  const deps = await runtimeDeps(o, log);
  const say = (r: ShimReady) => {
    try {
      writeSync(READY_FD, `${JSON.stringify(r)}\n`);
    } catch (e) {
      // A failure nobody hears changes nothing; a success nobody hears, the shim undoes (runSandboxShim).
      if (r.ok) throw e;
    } finally {
      closeSync(READY_FD);
    }
  };
  await runSandboxShim(validateSandboxId(id), await readBundle(o.bundle), deps, say);
}

/** A sandbox as `state` and `list` show it: stopped once its shim is gone, whatever its file last said. */
function sandboxStatus(s: SandboxState): { status: string; pid: number } {
  const status = runtimeAlive(s) ? s.status : 'stopped';
  return { status, pid: status === 'stopped' ? 0 : (s.vmPid ?? 0) };
}

/** The OCI state document of a sandbox or of a container added to one. */
function ociState(o: { id: string; status: string; pid: number; bundle: string; exitCode?: number | undefined; annotations: Record<string, string> }): Record<string, unknown> {
  const exit = o.exitCode !== undefined ? { 'passvol.io/exit-code': String(o.exitCode) } : {};
  return { ociVersion: '1.0.2', id: o.id, status: o.status, pid: o.pid, bundle: o.bundle, annotations: { ...o.annotations, ...exit } };
}

async function state(id: string, runtimeRoot: string): Promise<Record<string, unknown>> {
  const s = await new SandboxDirs(runtimeRoot).read(validateSandboxId(id));
  if (!s) throw notFound(`sandbox ${id} does not exist under ${runtimeRoot}`);
  return ociState({ id: s.id, ...sandboxStatus(s), bundle: s.bundle, exitCode: s.exitCode, annotations: { 'passvol.io/created-at': s.createdAt, ...(s.vmSize ? { 'passvol.io/vm-memory-mib': String(s.vmSize.memoryMiB), 'passvol.io/vm-cpus': String(s.vmSize.cpus) } : {}) } });
}

async function remove(id: string, o: { runtimeRoot: string; root?: string; force?: boolean; sandbox?: string }): Promise<void> {
  if (o.sandbox) {
    const c = await addedContainer(o.runtimeRoot, o.sandbox, id);
    if (c.status === 'running' && !o.force) throw failedPrecondition(`container ${id} is running; stop it with \`passvol kill ${id} --sandbox ${o.sandbox}\` first, or delete with --force`);
    await shimOf(o.runtimeRoot, o.sandbox).removeContainer(id);
    return;
  }
  const dirs = new SandboxDirs(o.runtimeRoot);
  const s = await dirs.read(validateSandboxId(id));
  if (!s) throw notFound(`sandbox ${id} does not exist under ${o.runtimeRoot}`);
  if (runtimeAlive(s)) {
    if (s.status === 'running' && !o.force) throw failedPrecondition(`sandbox ${id} is running; stop it with \`passvol kill ${id}\` first, or delete with --force`);
    await new ShimClient(dirs.dir(id), id).delete();
  } else {
    // The shim died: what it left (VM, bindings, sockets) is cleaned as `passvol gc` would, for this one only.
    const report = await cleanupOrphans(dirs, new RecordStore(resolveDirectVolumeRoot(o.root)), createLogger({ defaultLevel: 'warn' }), { only: id });
    if (!report.some((r) => r.sandbox === id)) {
      throw failedPrecondition(`the VM of sandbox ${id} (pid ${s.vmPid ?? '?'}) did not exit even after SIGKILL (stuck in I/O?): its volumes stay bound to it; run \`passvol gc\` later`);
    }
  }
  await rm(logOf(o.runtimeRoot, id), { force: true });
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** This terminal's size, or a console's when this command has none. */
function terminalSize(): { rows: number; cols: number } {
  return process.stdout.isTTY && process.stdout.rows > 0 && process.stdout.columns > 0 ? { rows: process.stdout.rows, cols: process.stdout.columns } : { rows: 24, cols: 80 };
}

const ExecFlags = z.object({
  cwd: z.string().startsWith('/', 'give an absolute path inside the container'),
  env: z.array(z.string().regex(/^[^=\0]+=[^\0]*$/, 'give NAME=value')),
  user: z
    .string()
    .regex(/^\d{1,10}(:\d{1,10})?$/, 'give a numeric uid, or uid:gid')
    .transform((u) => {
      const [uid, gid] = u.split(':').map(Number) as [number, number | undefined];
      return { uid, gid: gid ?? 0 };
    })
    .optional(),
  runtimeRoot: z.string().min(1),
  sandbox: z.string().optional(),
  interactive: z.boolean().optional(),
  tty: z.boolean().optional(),
});

interface ListRow {
  id: string;
  /** The sandbox it runs in: itself for a sandbox's own container. */
  sandbox: string;
  status: string;
  pid: number;
  bundle: string;
  created: string;
}

/**
 * Every sandbox from its state file; the live ones' shims are asked, all at once, for the containers added
 * to them. A shim that does not answer shows as one row with status "unknown" rather than stalling the list.
 */
async function listAll(runtimeRoot: string): Promise<ListRow[]> {
  const dirs = new SandboxDirs(runtimeRoot);
  const perSandbox = await Promise.all(
    (await dirs.list()).map(async (id): Promise<ListRow[]> => {
      const s = await dirs.read(id).catch(() => undefined);
      if (!s) return [];
      const own: ListRow = { id, sandbox: id, ...sandboxStatus(s), bundle: s.bundle, created: s.createdAt };
      // A sandbox containerd's shim holds has no control socket: its state file is all there is to show.
      if (!runtimeAlive(s) || !existsSync(join(dirs.dir(id), CONTROL_SOCKET))) return [own];
      const added = await shimOf(runtimeRoot, id)
        .containers(LIST_WAIT_MS)
        .catch(() => undefined);
      if (!added) return [{ ...own, status: 'unknown' }];
      return [own, ...added.filter((x) => x.id !== MAIN_CONTAINER).map((c) => ({ id: c.id, sandbox: id, status: c.status, pid: c.status === 'running' ? (c.pid ?? 0) : 0, bundle: c.bundle, created: c.createdAt }))];
    }),
  );
  return perSandbox.flat();
}

/** How long `list` waits for a shim. */
const LIST_WAIT_MS = 3000;

async function addedState(runtimeRoot: string, sandbox: string, id: string): Promise<Record<string, unknown>> {
  const c = await addedContainer(runtimeRoot, sandbox, id);
  return ociState({ id: c.id, status: c.status, pid: c.status === 'running' ? (c.pid ?? 0) : 0, bundle: c.bundle, exitCode: c.exitCode, annotations: { 'passvol.io/sandbox': sandbox } });
}

export function lifecycleCommands(): Command[] {
  const createCmd = runtimeOptions(
    new Command('create')
      .description('create a sandbox for an OCI bundle and leave it ready to start (a shim holds it); with --sandbox, add the container to that running sandbox instead')
      .argument('<id>', 'sandbox id (with --sandbox: the container id)')
      .requiredOption('--bundle <dir>', 'OCI bundle: config.json + rootfs')
      .option('--sandbox <id>', "a running sandbox to add this container to (a pod's other container: same VM, volumes shared)"),
  ).action(create);
  const shimCmd = runtimeOptions(new Command('shim').argument('<id>').requiredOption('--bundle <dir>')).action(shim);
  const startCmd = new Command('start')
    .description("start the container's process (its output goes to container.log in the sandbox folder)")
    .argument('<id>')
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--sandbox <id>', 'the sandbox the container was added to')
    .action(async (id: string, o: { runtimeRoot: string; sandbox?: string }) => {
      const t = targetOf(o.runtimeRoot, id, o.sandbox);
      await t.shim.start(t.container);
    });
  const stateCmd = new Command('state')
    .description('print the OCI state of a sandbox (JSON)')
    .argument('<id>')
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--sandbox <id>', 'the sandbox the container was added to')
    .action(async (id: string, o: { runtimeRoot: string; sandbox?: string }) => {
      const s = o.sandbox ? await addedState(o.runtimeRoot, o.sandbox, id) : await state(id, o.runtimeRoot);
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    });
  const killCmd = new Command('kill')
    .description('send a signal to the container process (default SIGTERM)')
    .argument('<id>')
    .argument('[signal]', 'signal name or number', 'SIGTERM')
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--sandbox <id>', 'the sandbox the container was added to')
    .option('--all', "send it to every process in the container, not only its init (as runc's kill --all)")
    .action(async (id: string, signal: string, o: { runtimeRoot: string; sandbox?: string; all?: boolean }) => {
      const sig = parseSignal(signal);
      const t = targetOf(o.runtimeRoot, id, o.sandbox);
      await t.shim.kill(sig, t.container, o.all);
    });
  const execCmd = new Command('exec')
    .description('run a command in the container; relays its output as it comes and exits with its code')
    .argument('<id>')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--cwd <dir>', 'working directory inside the container', '/')
    .option('--env <NAME=value>', "an environment entry over the container's own (repeatable)", collect, [] as string[])
    .option('--user <uid[:gid]>', "who runs it (gid 0 when not given, as runc; default: the container process's user)")
    .option('-i, --interactive', "feed this command's stdin to it (otherwise its stdin is closed)")
    .option('-t, --tty', 'give it a terminal in the guest, of this terminal\'s size (with -i, typed keys go to it as they are)')
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--sandbox <id>', 'the sandbox the container was added to')
    .action(async (id: string, args: string[], raw: Record<string, unknown>) => {
      const o = parseFlags(ExecFlags, raw);
      const tty = o.tty ? terminalSize() : undefined;
      const request = { args, cwd: o.cwd, env: o.env, ...(o.user ? { user: o.user } : {}), ...(tty ? { tty } : {}) };
      // Its output as it comes, to this command's stdout and stderr.
      const relay = (stream: 'stdout' | 'stderr', data: Buffer) => void process[stream].write(data);
      const stdin = o.interactive ? process.stdin : undefined;
      const t = targetOf(o.runtimeRoot, id, o.sandbox);
      // With a terminal, keys go to the guest's as typed (it echoes and edits lines), and window changes follow.
      const typing = o.tty && o.interactive && process.stdin.isTTY;
      if (typing) process.stdin.setRawMode(true);
      let onResize: (() => void) | undefined;
      try {
        process.exitCode = await t.shim.execStream({ ...request, ...(t.container ? { container: t.container } : {}) }, relay, stdin, (execId) => {
          if (!o.tty || !process.stdout.isTTY) return;
          onResize = () => void t.shim.resize(execId, process.stdout.rows, process.stdout.columns, t.container).catch(() => undefined);
          process.stdout.on('resize', onResize);
        });
      } finally {
        if (onResize) process.stdout.off('resize', onResize);
        if (typing) process.stdin.setRawMode(false);
      }
      // A command that ended before its stdin did: the rest of our stdin is not waited for.
      if (o.interactive) process.stdin.destroy();
    });
  const listCmd = new Command('list')
    .description('list the sandboxes (and the containers added to them), as runc list does')
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--json', 'print the list as JSON')
    .action(async (o: { runtimeRoot: string; json?: boolean }) => {
      const rows = await listAll(o.runtimeRoot);
      if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      const table = [['ID', 'SANDBOX', 'STATUS', 'PID', 'BUNDLE', 'CREATED'], ...rows.map((r) => [r.id, r.sandbox, r.status, String(r.pid), r.bundle, r.created])];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      for (const row of table) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    });
  const deleteCmd = new Command('delete')
    .description('tear the sandbox down: unmount and unplug its volumes, stop the VM, release bindings (data is kept)')
    .argument('<id>')
    .option('--force', 'delete even while the container runs (it is killed)')
    .option('--runtime-root <dir>', 'sandbox state folders', DEFAULT_RUNTIME_ROOT)
    .option('--root <dir>', "direct-volume root (default: $KATA_DIRECT_VOLUME_ROOT_PATH or Kata's)")
    .option('--sandbox <id>', 'the sandbox the container was added to: remove only it (what no other container uses is detached)')
    .action((id: string, o: { runtimeRoot: string; root?: string; force?: boolean; sandbox?: string }) => remove(id, o));
  return [createCmd, startCmd, stateCmd, killCmd, execCmd, listCmd, deleteCmd, shimCmd];
}
