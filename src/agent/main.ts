// The guest agent's plain entry point: tests run it with tsx, and the guest image bundles it with esbuild
// (node: builtins, protocol/, zod, pino) as the fallback to its startup snapshot (snapshot-main.ts). In the
// guest it runs with no flags and talks to the runtime on the virtio-serial port `passvol.agent`; see
// config.ts for the flags tests use.
import { startAgent } from './run-agent.js';

// When this module's body starts: Node is up and every module the agent imports is loaded.
startAgent(process.argv.slice(2), { loadedMs: Math.round(performance.now()), fromSnapshot: false });
