// `passvol run --bundle DIR`: create a sandbox for an OCI bundle, run its process with output relayed,
// tear everything down, and exit with the container's exit code.
import { Command, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../common/logger.js';
import { validateSandboxId } from '../../directvolume/index.js';
import { readBundle } from '../../runtime/oci/bundle.js';
import { Sandbox } from '../../runtime/sandbox/sandbox.js';
import { runtimeDeps, VM_TEMPLATES_HELP, type RuntimeFlags } from '../runtime-setup.js';
import { logLevelHelp } from '../log-level.js';

/** Our stdin becomes the container's, in order, one chunk in flight at a time; its end is the container's EOF. */
function relayStdin(sandbox: Sandbox): void {
  const stdin = process.stdin;
  stdin.on('data', (d: Buffer) => {
    stdin.pause();
    sandbox.stdin(d).then(
      () => stdin.resume(),
      () => stdin.destroy(), // the container closed its stdin or is gone: stop reading ours
    );
  });
  stdin.on('end', () => void sandbox.stdin('end').catch(() => undefined));
  stdin.unref?.();
}

export function runCommand(): Command {
  return new Command('run')
    .description('run an OCI bundle in a new VM sandbox; direct volumes are passed straight through')
    .requiredOption('--bundle <dir>', 'OCI bundle: config.json + rootfs')
    .option('--id <id>', 'sandbox id (default: random)')
    .option('--root <dir>', 'direct-volume root (default: $KATA_DIRECT_VOLUME_ROOT_PATH or Kata\'s)')
    .option('--runtime-root <dir>', 'sandbox state folders (default /run/passvol/sandboxes)')
    .option('--go-shim-root <dir>', 'where monitor sockets go (default /run/vc/sbs, as Kata)')
    .option('--image <manifest>', 'guest image manifest (default: the one `passvol image build` made)')
    .addOption(new Option('--share <kind>', 'how plain bind mounts and the rootfs reach the guest').choices(['virtiofs', '9p']).default('virtiofs'))
    .option('--memory <MiB>', 'guest memory', '512')
    .option('--cpus <n>', 'guest CPUs', '1')
    .option('--vm-templates <dir>', VM_TEMPLATES_HELP)
    .option('--log-level <level>', logLevelHelp('runtime log level', 'warn'))
    .action(async (o: RuntimeFlags & { bundle: string; id?: string; logLevel?: string }) => {
      const log = createLogger({ level: o.logLevel, defaultLevel: 'warn' }).child({ part: 'runtime' });
      const id = validateSandboxId(o.id ?? `pv-${randomBytes(6).toString('hex')}`);
      const bundle = await readBundle(o.bundle);
      const sandbox = await Sandbox.create(id, bundle, await runtimeDeps(o, log));
      // Signals go to the container; a second one of the same kind kills it (its PID 1 may ignore the first).
      const seen = new Set<NodeJS.Signals>();
      const forward = (sig: NodeJS.Signals) => {
        void sandbox.kill(seen.has(sig) ? 'SIGKILL' : sig).catch(() => undefined);
        seen.add(sig);
      };
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      let code = 1;
      try {
        await sandbox.start((stream, data) => (stream === 'stdout' ? process.stdout : process.stderr).write(data));
        relayStdin(sandbox);
        code = await sandbox.wait();
      } finally {
        await sandbox.destroy();
      }
      process.exitCode = code;
    });
}
