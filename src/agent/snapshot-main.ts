// The agent as a V8 startup snapshot: the image build runs this file once with `node --build-snapshot`
// (bundled as CommonJS), so every module is already evaluated in the heap the guest's node deserializes.
// Under TCG that skips ~1 s of parsing and evaluating the bundle at every boot. The guest starts it as
// `node --snapshot-blob agent.blob -- FLAGS`, and falls back to main.ts's bundle if it cannot be loaded.
import { startupSnapshot } from 'node:v8';
import { parseConfig } from './config.js';
import { createAgentLogger } from './logger.js';
import { startAgent } from './run-agent.js';

/**
 * Runs what every start runs before it serves (flag parsing, a logger and its first lines) once while the
 * snapshot is built, so their code is compiled in the snapshot: under TCG compiling it at boot took ~0.3 s.
 */
function warmUp(): void {
  const config = parseConfig(['--log-level', 'info'], {});
  const log = createAgentLogger(config.logLevel, { write: () => undefined });
  log.child({ part: 'warm-up' }).info({ port: '/dev/null', startupMs: 0, env: { A: 'b' } }, 'warm-up');
  log.warn({ err: new Error('warm-up') }, 'warm-up');
}

// Deserialized, process.argv is [node, ...flags]: no script path.
if (startupSnapshot.isBuildingSnapshot()) {
  warmUp();
  const logger = createAgentLogger('info');
  startupSnapshot.setDeserializeMainFunction(() => startAgent(process.argv.slice(1), { loadedMs: Math.round(performance.now()), fromSnapshot: true, logger }));
} else {
  startAgent(process.argv.slice(2), { loadedMs: Math.round(performance.now()), fromSnapshot: false });
}
