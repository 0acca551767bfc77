// The `passvol` program: its commands, each loaded only when it runs.
import { Command } from 'commander';

// Each command's code is loaded only when that command runs: a long-lived `csi serve` should not carry the
// runtime, the benchmarks and the demo in its memory. Help and unknown commands load them all.
type Loader = () => Promise<Command[]>;
const lifecycle: Loader = async () => (await import('./commands/lifecycle.js')).lifecycleCommands();
const COMMANDS: Record<string, Loader> = {
  'direct-volume': async () => [(await import('./commands/direct-volume.js')).directVolumeCommand()],
  demo: async () => [(await import('./commands/demo.js')).demoCommand()],
  csi: async () => [(await import('./commands/csi.js')).csiCommand()],
  bench: async () => [(await import('./commands/bench.js')).benchCommand()],
  gc: async () => [(await import('./commands/gc.js')).gcCommand()],
  image: async () => [(await import('./commands/image.js')).imageCommand()],
  template: async () => [(await import('./commands/template.js')).templateCommand()],
  run: async () => [(await import('./commands/run.js')).runCommand()],
  'nas-server': async () => [(await import('./commands/nas-server.js')).nasServerCommand()],
  ...Object.fromEntries(['create', 'start', 'state', 'kill', 'exec', 'list', 'delete', 'shim'].map((name) => [name, lifecycle])),
};

export async function buildProgram(commandName: string | undefined): Promise<Command> {
  const program = new Command('passvol')
    .description('pass cloud disks and NAS volumes straight through to VM-sandboxed containers')
    .showHelpAfterError(false);
  const wanted = commandName !== undefined && Object.hasOwn(COMMANDS, commandName) ? [COMMANDS[commandName] as Loader] : [...new Set(Object.values(COMMANDS))];
  for (const load of wanted) {
    // The shim is started by `create`, never by hand.
    for (const cmd of await load()) program.addCommand(cmd, cmd.name() === 'shim' ? { hidden: true } : {});
  }
  return program;
}
