// Entry of `containerd-shim-passvol-v2` (bin/), the runtime `io.containerd.passvol.v2` for containerd and
// CRI. containerd runs it with Go-style flags (`-namespace ns`, `--id=x`, `-debug`) and one action; see
// runtime/containerd/shim-process.ts for what each action does, containerd-shim-flags.ts for its settings.
import { closeSync, writeSync } from 'node:fs';
import { systemExec } from '../common/exec.js';
import { createLogger } from '../common/logger.js';
import { READY_FD } from '../common/ready-pipe.js';
import { RecordStore, resolveDirectVolumeRoot } from '../directvolume/index.js';
import { deleteAfterShim, openLogFifo, recordedConfigPath, serveShim, ShimFlags, startShim } from '../runtime/containerd/shim-process.js';
import { DEFAULT_RUNTIME_ROOT, SandboxDirs } from '../runtime/sandbox/sandbox-dir.js';
import { camel, loadShimConfig, parseGoFlags } from './containerd-shim-flags.js';
import { runtimeDeps } from './runtime-setup.js';

const VERSION = 'passvol 0.1.0';

async function main(argv: readonly string[]): Promise<number> {
  const { flags: raw, action, flagArgs } = parseGoFlags(argv);
  if (raw.v) {
    process.stdout.write(`containerd-shim-passvol-v2 ${VERSION}\n`);
    return 0;
  }
  const parsed = ShimFlags.safeParse(Object.fromEntries(Object.entries(raw).map(([k, v]) => [camel(k), v])));
  if (!parsed.success) throw new Error(`bad flags: ${parsed.error.issues.map((i) => `-${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const flags = parsed.data;
  const config = loadShimConfig(undefined);
  const bundleDir = flags.bundle ?? process.cwd();
  switch (action) {
    case 'start': {
      // Only the address may reach stdout; containerd takes stdout and stderr together as the answer.
      const address = await startShim({ flags, bundleDir, argv: [process.argv[1] as string, ...flagArgs] });
      process.stdout.write(address);
      return 0;
    }
    case 'serve': {
      const logFd = openLogFifo(bundleDir);
      const log = createLogger({ level: flags.debug ? 'debug' : config.logLevel, defaultLevel: 'info', name: 'containerd-shim-passvol-v2', ...(logFd !== undefined ? { pipeFd: logFd } : {}) }).child({ namespace: flags.namespace });
      if (!flags.socket) throw new Error('serve needs -socket');
      await serveShim({
        flags,
        socket: flags.socket,
        ttrpcAddress: process.env.TTRPC_ADDRESS,
        sandboxDeps: async (configPath) => {
          const c = configPath ? loadShimConfig(configPath) : config;
          return runtimeDeps({ ...c, memory: c.memory?.toString(), cpus: c.cpus?.toString() }, log);
        },
        exec: systemExec,
        log,
        version: VERSION,
        ready: (r) => {
          writeSync(READY_FD, `${JSON.stringify(r)}\n`);
          closeSync(READY_FD);
        },
      });
      return 0;
    }
    case 'delete': {
      // Where the sandbox's own settings put it, when its runtime options named a file.
      const recorded = recordedConfigPath(bundleDir);
      const c = recorded ? loadShimConfig(recorded) : config;
      const log = createLogger({ level: c.logLevel, defaultLevel: 'warn', name: 'containerd-shim-passvol-v2' });
      const out = await deleteAfterShim({
        id: flags.id,
        bundleDir,
        flags,
        dirs: new SandboxDirs(c.runtimeRoot ?? DEFAULT_RUNTIME_ROOT),
        records: new RecordStore(resolveDirectVolumeRoot(c.root)),
        exec: systemExec,
        log,
      });
      process.stdout.write(out);
      return 0;
    }
    default:
      throw new Error(`unknown action "${action ?? ''}": containerd runs this shim with start or delete`);
  }
}

/** Runs the shim as containerd invoked it, then exits with its status. */
export function runContainerdShim(argv: readonly string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`containerd-shim-passvol-v2: ${e.message}\n`);
      process.exit(1);
    },
  );
}
