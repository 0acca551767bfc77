// The layout is the architecture: each part may import only the parts listed here, and no file imports
// itself through a cycle. The CSI driver and the runtime meet only through directvolume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  directvolume: ['common'],
  protocol: [],
  agent: ['protocol'],
  csi: ['common', 'directvolume'],
  runtime: ['common', 'directvolume', 'protocol'],
  'guest-image': ['common', 'protocol'],
  bench: ['common', 'directvolume', 'csi', 'runtime', 'protocol'],
  cli: ['common', 'directvolume', 'csi', 'runtime', 'protocol', 'guest-image', 'bench', 'demo'],
  demo: ['common', 'directvolume', 'csi', 'runtime', 'protocol'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)];
  return specs
    .map((m) => m[1] ?? m[2] ?? '')
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const partOf = (file: string) => relative(SRC, file).split('/')[0] ?? '';
const files = sourceFiles(SRC).filter((f) => relative(SRC, f).includes('/'));
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every part imports only what the design allows', () => {
  const violations: string[] = [];
  for (const [file, deps] of graph) {
    const part = partOf(file);
    const allowed = ALLOWED[part];
    if (!allowed) {
      violations.push(`${relative(SRC, file)}: part "${part}" is not in the architecture table`);
      continue;
    }
    for (const dep of deps) {
      const target = partOf(dep);
      if (target !== part && !allowed.includes(target)) violations.push(`${relative(SRC, file)} imports ${relative(SRC, dep)}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('no import cycles', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => relative(SRC, x)).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const d of graph.get(f) ?? []) visit(d, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});
