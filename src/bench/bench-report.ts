// Writes a benchmark's results: JSON for tools, Markdown for people, SVG for a glance.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReportFiles {
  json: string;
  markdown: string;
  svg: string;
}

export async function writeReport(dir: string, name: string, result: unknown, markdown: string, svg: string): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const files = { json: join(dir, `${name}.json`), markdown: join(dir, `${name}.md`), svg: join(dir, `${name}.svg`) };
  await writeFile(files.json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(files.markdown, markdown);
  await writeFile(files.svg, svg);
  return files;
}

export function machineLine(measuredAt = new Date()): string {
  return `Node ${process.version}, ${process.platform}/${process.arch}, measured ${measuredAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
