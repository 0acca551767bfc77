import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { IoBenchResult } from './io-bench.js';
import { IO_TABLE_END, IO_TABLE_START, between, ioReadmeTable, replaceBetween } from './readme-table.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

test("the README's I/O table is the one bench/results/io.json gives (run `passvol bench report --readme README.md`)", () => {
  const result = JSON.parse(readFileSync(repo('bench/results/io.json'), 'utf8')) as IoBenchResult;
  assert.equal(between(readFileSync(repo('README.md'), 'utf8'), IO_TABLE_START, IO_TABLE_END), ioReadmeTable(result));
});

test('the block between the markers is replaced, the rest kept; a text without them is refused', () => {
  const text = `intro\n${IO_TABLE_START}\nold\ntable\n${IO_TABLE_END}\noutro\n`;
  const out = replaceBetween(text, IO_TABLE_START, IO_TABLE_END, 'new');
  assert.equal(out, `intro\n${IO_TABLE_START}\nnew\n${IO_TABLE_END}\noutro\n`);
  assert.equal(between(out, IO_TABLE_START, IO_TABLE_END), 'new');
  assert.equal(replaceBetween(out, IO_TABLE_START, IO_TABLE_END, 'new'), out, 'idempotent');
  assert.throws(() => replaceBetween('no markers', IO_TABLE_START, IO_TABLE_END, 'x'), /markers are missing/);
});
