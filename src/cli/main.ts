// The `passvol` command: parses flags and hands off to the libraries; errors leave through reportAndExit.
import { Command, CommanderError } from 'commander';
import { directVolumeCommand } from './commands/direct-volume.js';
import { demoCommand } from './commands/demo.js';
import { csiCommand } from './commands/csi.js';
import { benchCommand } from './commands/bench.js';
import { gcCommand } from './commands/gc.js';
import { imageCommand } from './commands/image.js';
import { runCommand } from './commands/run.js';
import { lifecycleCommands } from './commands/lifecycle.js';
import { nasServerCommand } from './commands/nas-server.js';
import { reportAndExit } from './cli-error.js';
import { invalidArgument } from '../common/errors.js';

export function buildProgram(): Command {
  const program = new Command('passvol')
    .description('pass cloud disks and NAS volumes straight through to VM-sandboxed containers')
    .showHelpAfterError(false);
  program.addCommand(directVolumeCommand());
  program.addCommand(demoCommand());
  program.addCommand(csiCommand());
  program.addCommand(benchCommand());
  program.addCommand(gcCommand());
  program.addCommand(imageCommand());
  program.addCommand(runCommand());
  program.addCommand(nasServerCommand());
  // The shim is started by `create`, never by hand.
  for (const cmd of lifecycleCommands()) program.addCommand(cmd, cmd.name() === 'shim' ? { hidden: true } : {});
  return program;
}

/** Make every command (and its subcommands) throw instead of exiting, so errors share one exit path. */
function throwOnCommanderErrors(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => undefined });
  for (const sub of cmd.commands) throwOnCommanderErrors(sub);
}

export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const program = buildProgram();
  throwOnCommanderErrors(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return; // --help, --version
      reportAndExit(invalidArgument(e.message.replace(/^error: /, '')));
    }
    reportAndExit(e);
  }
}

await main(process.argv);
