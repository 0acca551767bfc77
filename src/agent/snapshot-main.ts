// The agent as a V8 startup snapshot: the image build runs this file once with `node --build-snapshot`
// (bundled as CommonJS), so every module is already evaluated in the heap the guest's node deserializes.
// Under TCG that skips ~1 s of parsing and evaluating the bundle at every boot. The guest starts it as
// `node --snapshot-blob agent.blob -- FLAGS`, and falls back to main.ts's bundle if it cannot be loaded.
import { startupSnapshot } from 'node:v8';
import { startAgent } from './run-agent.js';

// Deserialized, process.argv is [node, ...flags]: no script path.
if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(() => startAgent(process.argv.slice(1), { loadedMs: Math.round(performance.now()), fromSnapshot: true }));
} else {
  startAgent(process.argv.slice(2), { loadedMs: Math.round(performance.now()), fromSnapshot: false });
}
