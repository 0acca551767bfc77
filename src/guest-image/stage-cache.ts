// One cached stage: its output folder is `<cache>/guest-image/<stage>-<hash of inputs>/`, built in a
// temporary sibling and renamed into place only when complete, so a crash never leaves a half stage that
// looks done. `stage.json` (written last) records the inputs and what the stage produced.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { errnoCode } from '../common/errors.js';
import { hashInputs } from './hash.js';
import type { OnProgress, StageName } from './progress.js';

export const STAGE_FILE = 'stage.json';

export interface StageResult<M> {
  dir: string;
  hash: string;
  cached: boolean;
  meta: M;
}

export interface StageSpec<M> {
  /** `<cache>/guest-image`. */
  root: string;
  stage: StageName;
  /** Everything the output depends on; the stage is rebuilt when any of it changes. */
  inputs: unknown;
  meta: z.ZodType<M>;
  /** Builds into `dir` (empty, temporary) and returns the metadata to record. */
  build(dir: string): Promise<M>;
  onProgress?: OnProgress;
  describe?(meta: M): string;
}

export async function runCachedStage<M>(spec: StageSpec<M>): Promise<StageResult<M>> {
  const started = Date.now();
  const hash = hashInputs({ stage: spec.stage, inputs: spec.inputs });
  const dir = join(spec.root, `${spec.stage}-${hash.slice(0, 16)}`);
  const done = await readStage(dir, hash, spec.meta);
  if (done) {
    spec.onProgress?.({ stage: spec.stage, state: 'cached', ms: Date.now() - started, detail: spec.describe?.(done) ?? dir });
    return { dir, hash, cached: true, meta: done };
  }
  spec.onProgress?.({ stage: spec.stage, state: 'start' });
  await rm(dir, { recursive: true, force: true }); // a folder without stage.json is a crashed build
  const tmp = `${dir}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const meta = await spec.build(tmp);
    await writeFile(join(tmp, STAGE_FILE), JSON.stringify({ stage: spec.stage, hash, inputs: spec.inputs, meta }, null, 2) + '\n');
    try {
      await rename(tmp, dir);
    } catch (e) {
      // Another build finished the same stage first: its result is as good as ours.
      if (errnoCode(e) !== 'ENOTEMPTY' && errnoCode(e) !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    }
    spec.onProgress?.({ stage: spec.stage, state: 'built', ms: Date.now() - started, detail: spec.describe?.(meta) ?? dir });
    return { dir, hash, cached: false, meta };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function readStage<M>(dir: string, hash: string, schema: z.ZodType<M>): Promise<M | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STAGE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as { hash?: unknown; meta?: unknown };
    if (record.hash !== hash) return undefined;
    const parsed = schema.safeParse(record.meta);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
