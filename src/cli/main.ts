// The `passvol` command: parses flags and hands off to the libraries; errors leave through reportAndExit.
import { CommanderError, type Command } from 'commander';
import { reportAndExit } from './cli-error.js';
import { buildProgram } from './program.js';
import { invalidArgument } from '../common/errors.js';

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
  const program = await buildProgram(argv[2]);
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
