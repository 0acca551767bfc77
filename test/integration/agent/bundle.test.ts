// STYLE §11: the agent ships as one esbuild bundle of src/agent/main.ts that uses only node: builtins,
// src/protocol/, zod and pino. This test builds it as the guest image should, checks the size budget and
// every input in the metafile, then runs the bundle and pings it.
//
// Budget: 256 KiB minified. Measured 156 KiB at the time of writing (zod ~40%, pino and its helpers
// ~30%, agent and protocol the rest). The budget leaves room for the agent to grow, but any accidental host
// dependency blows it at once (@grpc/grpc-js or @kubernetes/client-node each add megabytes), and the
// input check below names the offender.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { systemExec } from '../../../src/common/exec.js';
import { bundleAgent } from '../../../src/guest-image/agent-bundle.js';
import { buildAgentSnapshot, snapshotPlans } from '../../../src/guest-image/agent-snapshot.js';
import { REPO, needsRoot, startAgent, type AgentUnderTest } from './agent-harness.js';
import { PROTOCOL_VERSION } from '../../../src/protocol/index.js';

export const BUNDLE_BUDGET_BYTES = 256 * 1024;

/** esbuild options for the agent bundle. ESM output needs a real `require` for pino's CommonJS internals. */
export const AGENT_BUNDLE_OPTIONS: BuildOptions = {
  entryPoints: [join(REPO, 'src/agent/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  metafile: true,
  legalComments: 'none',
  logLevel: 'silent',
  banner: { js: "import { createRequire as __passvolCreateRequire } from 'node:module'; const require = __passvolCreateRequire(import.meta.url);" },
};

let outDir: string;
let outfile: string;
let metafile: Metafile;

before(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'pv-bundle-'));
  outfile = join(outDir, 'passvol-agent.mjs');
  const result = await build({ ...AGENT_BUNDLE_OPTIONS, metafile: true, absWorkingDir: REPO, outfile });
  metafile = result.metafile;
});
after(() => rm(outDir, { recursive: true, force: true }));

/** node_modules/a/b.js -> a; node_modules/@s/p/x.js -> @s/p (nested node_modules too). */
function packageOf(input: string): string | undefined {
  const i = input.lastIndexOf('node_modules/');
  if (i === -1) return undefined;
  const parts = input.slice(i + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** zod, pino and everything pino depends on (read from the installed package.json files). */
async function allowedPackages(): Promise<Set<string>> {
  const allowed = new Set<string>(['zod']);
  const queue = ['pino'];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (allowed.has(name)) continue;
    allowed.add(name);
    const pkg = JSON.parse(await readFile(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    queue.push(...Object.keys(pkg.dependencies ?? {}));
  }
  return allowed;
}

test('the agent bundle is under its size budget', async (t) => {
  const [output] = Object.values(metafile.outputs);
  assert.ok(output);
  t.diagnostic(`bundle: ${output.bytes} bytes (${(output.bytes / 1024).toFixed(1)} KiB) of ${BUNDLE_BUDGET_BYTES / 1024} KiB budget`);
  assert.ok(output.bytes <= BUNDLE_BUDGET_BYTES, `${output.bytes} bytes > budget ${BUNDLE_BUDGET_BYTES}`);
});

test('the bundle has no input from runtime, csi, cli or common; only agent, protocol, zod and pino', async () => {
  const inputs = Object.keys(metafile.inputs);
  assert.ok(inputs.length > 0);
  const forbidden = inputs.filter((p) => /(^|\/)src\/(runtime|csi|cli|common|directvolume)\//.test(p));
  assert.deepEqual(forbidden, []);
  const ownCode = inputs.filter((p) => !p.includes('node_modules/'));
  assert.deepEqual(ownCode.filter((p) => !/^src\/(agent|protocol)\//.test(p)), []);
  const allowed = await allowedPackages();
  const packages = [...new Set(inputs.map(packageOf).filter((p): p is string => p !== undefined))];
  assert.deepEqual(packages.filter((p) => !allowed.has(p)), []);
  assert.ok(packages.includes('zod') && packages.includes('pino'));
});

let bundled: AgentUnderTest | undefined;
let fromSnapshot: AgentUnderTest | undefined;
after(async () => {
  await bundled?.stop();
  await fromSnapshot?.stop();
});

test('the bundle runs: it listens on --socket and answers ping and guestInfo', { skip: needsRoot }, async (t) => {
  bundled = await startAgent({ entry: outfile });
  const ping = await bundled.client.request('ping', {});
  assert.equal(ping.protocol, PROTOCOL_VERSION);
  const info = await bundled.client.request('guestInfo', {});
  t.diagnostic(`bundled agent: connectable ${Math.round(bundled.startMs)} ms after spawn, RSS ${info.agentRssKiB} KiB`);
  assert.match(bundled.stderr(), /"msg":"agent ready"/);
});

test('the startup snapshot is made as the image build makes it for KVM (on this CPU), and the agent runs from it', { skip: needsRoot, timeout: 120_000 }, async (t) => {
  const cjs = await bundleAgent(join(REPO, 'src/agent/snapshot-main.ts'), { format: 'cjs' });
  const blobPath = join(outDir, 'agent.blob');
  const [kvm] = snapshotPlans(process.execPath, undefined);
  assert.ok(kvm);
  await buildAgentSnapshot(systemExec, { runner: kvm.runner, bundle: cjs.code, workDir: outDir, blobPath });
  fromSnapshot = await startAgent({ snapshot: blobPath });
  assert.equal((await fromSnapshot.client.request('ping', {})).protocol, PROTOCOL_VERSION);
  const info = await fromSnapshot.client.request('guestInfo', {});
  t.diagnostic(`agent from its snapshot: connectable ${Math.round(fromSnapshot.startMs)} ms after spawn, RSS ${info.agentRssKiB} KiB`);
  // The flags reached it (its socket is the one asked for), and it says where its modules came from.
  assert.match(fromSnapshot.stderr(), /"fromSnapshot":true[^\n]*"msg":"agent ready"|"msg":"agent ready"[^\n]*"fromSnapshot":true/);
});
