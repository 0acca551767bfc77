// The agent's body: parse the flags, set up logging and the container registry, then serve the runtime on
// the virtio-serial port (or a unix socket in tests). Two entry points call it: main.ts (plain ESM, used by
// tests and as the guest's fallback) and snapshot-main.ts (the guest's startup snapshot, see there).
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Server } from 'node:net';
import type { Performance as NodePerformance } from 'node:perf_hooks';
import { SysfsBlockDevices } from './block-devices.js';
import { parseConfig, USAGE, type AgentConfig } from './config.js';
import { Connection } from './connection.js';
import { ConnectionHub } from './connection-hub.js';
import { FilesystemFreezes } from './filesystem-freezes.js';
import { ContainerRegistry } from './containers.js';
import type { AgentContext } from './context.js';
import { createDispatcher } from './dispatcher.js';
import { PathMapper } from './guest-paths.js';
import { KeyedLock } from './keyed-lock.js';
import { createAgentLogger, forThisProcess, type Logger } from './logger.js';
import { runCommand } from './run-command.js';
import { listenUnix } from './unix-socket.js';
import { FdDuplex, findVirtioPort, openReadWrite } from './virtio-port.js';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import { hasCgroup2 } from './container-cgroup.js';
import { openSync } from 'node:fs';

const GUEST_CGROUP_ROOT = '/sys/fs/cgroup';

const PORT_WAIT_MS = 30_000;
const SHUTDOWN_FLUSH_MS = 2000;

function findOnPath(name: string): string | undefined {
  if (isAbsolute(name)) return name;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** How the agent was started, for its ready log: a slow boot says which part to look at. */
export interface AgentStart {
  /** When the entry point's code was ready: Node up and every module loaded (or deserialized). */
  loadedMs: number;
  /** Whether the modules came from the startup snapshot (snapshot-main.ts) rather than the bundle. */
  fromSnapshot: boolean;
  /** A logger the snapshot already made (see createAgentLogger); otherwise one is made here. */
  logger?: Logger;
}

/**
 * Starts the agent; if it cannot start (no virtio port, say), exits non-zero so that init starts it again
 * (or, from the snapshot, falls back to the bundle) instead of leaving an agent that serves nothing.
 */
export function startAgent(argv: readonly string[], start: AgentStart): void {
  runAgent(argv, start).catch((e: unknown) => {
    process.stderr.write(`passvol-agent: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

/** Runs the agent until it is told to stop. `argv` is the flags alone. */
export async function runAgent(argv: readonly string[], start: AgentStart): Promise<void> {
  let config: AgentConfig;
  try {
    config = parseConfig(argv);
  } catch (e) {
    process.stderr.write(`passvol-agent: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }

  const log = forThisProcess(start.logger ?? createAgentLogger(config.logLevel), config.logLevel);
  process.on('uncaughtException', (err) => log.fatal({ err }, 'uncaught exception (the agent keeps serving)'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  const busybox = findOnPath(config.busybox);
  if (!busybox) log.warn({ busybox: config.busybox }, 'busybox not found: containers cannot be started');
  const setpriv = findOnPath('setpriv');
  const script = findOnPath('script');
  // Held open for the life of the agent: a root container process runs it by its descriptor, inside its root.
  let capsExecFd: number | undefined;
  try {
    capsExecFd = openSync(config.capsExec, 'r');
  } catch {
    log.warn({ capsExec: config.capsExec }, 'no capability helper: root containers keep every capability');
  }

  const hub = new ConnectionHub();
  const paths = new PathMapper(config.root);
  // In the guest, containers get cgroups of their own (init mounts cgroup v2); an agent run on a host for tests does not.
  const cgroupRoot = config.root === '' && (await hasCgroup2(GUEST_CGROUP_ROOT)) ? GUEST_CGROUP_ROOT : undefined;
  if (config.root === '' && !cgroupRoot) log.warn({ cgroupRoot: GUEST_CGROUP_ROOT }, 'no cgroup v2 here: containers run without their limits');
  let server: Server | undefined;

  async function stop(code: number): Promise<never> {
    log.info('agent stopping');
    server?.close();
    const flushed = hub.endAll();
    await Promise.race([flushed, new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS))]);
    if (config.socket) process.exit(code);
    // On the virtio port a read is always pending in libuv's thread pool, and process.exit() waits for the pool's
    // threads: it would never return. End at once instead; init starts a new agent either way.
    process.kill(process.pid, 'SIGKILL');
    return new Promise<never>(() => undefined);
  }

  const ctx: AgentContext = {
    config,
    log,
    paths,
    devices: new SysfsBlockDevices(config.sysBlock, config.devDir),
    run: runCommand,
    containers: new ContainerRegistry({ paths, run: runCommand, busybox: busybox ?? config.busybox, ...(setpriv ? { setpriv } : {}), ...(script ? { script } : {}), ...(capsExecFd !== undefined ? { capsExecFd } : {}), ...(cgroupRoot ? { cgroupRoot } : {}), events: hub, log: log.child({ part: 'containers' }) }),
    events: hub,
    locks: new KeyedLock(),
    mounted: new Set(),
    freezes: new FilesystemFreezes(runCommand, log.child({ part: 'freezes' })),
    requestShutdown: () => setImmediate(() => void stop(0)),
  };
  const dispatch = createDispatcher(ctx);

  function serve(stream: ConstructorParameters<typeof Connection>[0]): void {
    const connection = new Connection(stream, dispatch, log, (c) => hub.remove(c));
    hub.add(connection);
  }

  if (config.socket) {
    server = await listenUnix(config.socket, (socket) => serve(socket));
    log.info({ socket: config.socket, root: config.root || '/', startupMs: Math.round(performance.now()), loadedMs: start.loadedMs, fromSnapshot: start.fromSnapshot }, 'agent ready');
  } else {
    const port = await findVirtioPort(config.virtioPortsDir, config.portName, config.devDir, PORT_WAIT_MS);
    serve(new FdDuplex(await openReadWrite(port)));
    // The runtime learns of a restarted agent (whose containers and mounts are gone) from a second 'ready'.
    hub.emit({ v: PROTOCOL_VERSION, event: 'ready', pid: process.pid });
    // Node's own start, then the agent's code loaded, then ready.
    const nodeBootstrapMs = Math.round((performance as unknown as NodePerformance).nodeTiming.bootstrapComplete);
    log.info({ port, startupMs: Math.round(performance.now()), nodeBootstrapMs, loadedMs: start.loadedMs, fromSnapshot: start.fromSnapshot }, 'agent ready');
  }

  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
}
