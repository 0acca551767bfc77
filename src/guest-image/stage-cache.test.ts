import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { hashInputs, stableJson } from './hash.js';
import { runCachedStage } from './stage-cache.js';

test('stable JSON ignores key order', () => {
  assert.equal(stableJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: 3 } }), '{"a":{"c":3,"d":[2,{"x":0,"y":1}]},"b":1}');
  assert.equal(hashInputs({ a: 1, b: 2 }), hashInputs({ b: 2, a: 1 }));
});

test('a stage is built once per distinct input, and a failed build leaves nothing behind', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pv-stage-'));
  try {
    let builds = 0;
    const spec = (inputs: unknown, fail = false) => ({
      root,
      stage: 'modules' as const,
      inputs,
      meta: z.object({ n: z.number() }),
      build: async (dir: string) => {
        builds++;
        await writeFile(join(dir, 'out.txt'), 'x');
        if (fail) throw new Error('boom');
        return { n: builds };
      },
    });
    const first = await runCachedStage(spec({ v: 1 }));
    assert.equal(first.cached, false);
    assert.equal(await readFile(join(first.dir, 'out.txt'), 'utf8'), 'x');
    const again = await runCachedStage(spec({ v: 1 }));
    assert.equal(again.cached, true);
    assert.deepEqual(again.meta, { n: 1 });
    assert.equal(builds, 1);
    const other = await runCachedStage(spec({ v: 2 }));
    assert.notEqual(other.dir, first.dir);
    await assert.rejects(runCachedStage(spec({ v: 3 }, true)), /boom/);
    assert.deepEqual((await readdir(root)).sort(), [first.dir, other.dir].map((d) => d.slice(root.length + 1)).sort());
    // A folder without its stage.json (a crash after rename is impossible, but a hand-made one) is rebuilt.
    await rm(join(first.dir, 'stage.json'));
    assert.equal((await runCachedStage(spec({ v: 1 }))).cached, false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
