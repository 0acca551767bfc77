// Lists the test files of each tier and runs them in one `node --test` so the summary covers them all.
// (Node 20's --test takes paths, not globs.)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';

const TIERS = {
  unit: { dir: 'src', match: /\.test\.ts$/ },
  integration: { dir: 'test/integration', match: /\.test\.(ts|mjs)$/ },
  deploy: { dir: 'test/deploy', match: /\.test\.(ts|mjs)$/ },
  compat: { dir: 'test/compat', match: /\.test\.(ts|mjs)$/ },
  sanity: { dir: 'test/sanity', match: /\.test\.(ts|mjs)$/ },
  e2e: { dir: 'test/e2e', match: /\.test\.(ts|mjs)$/ },
};

function walk(dir, match) {
  let out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p, match));
    else if (match.test(name)) out.push(p);
  }
  return out;
}

const wanted = process.argv.slice(2);
const tiers = wanted.length === 0 || wanted.includes('all') ? Object.keys(TIERS) : wanted;
const files = [];
for (const tier of tiers) {
  const spec = TIERS[tier];
  if (!spec) {
    console.error(`unknown test tier "${tier}"; known: ${Object.keys(TIERS).join(', ')}, all`);
    process.exit(2);
  }
  files.push(...walk(spec.dir, spec.match));
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// A test file whose process never exits (a handle left open) would hold the run until CI's own limit and
// print nothing useful; the budget turns that into a failure that names the files still running.
const budgetS = Number(process.env.PASSVOL_TEST_BUDGET_S ?? 2400);
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit', detached: true });
const timer = setTimeout(() => {
  let still = '';
  try {
    still = execFileSync('ps', ['-o', 'pid=,etime=,args=', '--ppid', String(child.pid)], { encoding: 'utf8' });
  } catch {
    // ps finds no children: the runner itself is stuck.
  }
  console.error(`\n✖ the test run exceeded its budget of ${budgetS} s (PASSVOL_TEST_BUDGET_S); still running:\n${still || '(the runner itself)'}`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  process.exit(1);
}, budgetS * 1000);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  clearTimeout(timer);
  process.exit(code ?? (signal ? 1 : 0));
});
