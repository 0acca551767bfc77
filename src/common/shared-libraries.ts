// The shared libraries a dynamically linked binary needs, as `ldd` lists them: what must be copied beside
// a host binary for it to run in another root (the guest image, a benchmark's container).
import { failedPrecondition } from './errors.js';
import type { Exec } from './exec.js';

/** Paths ldd reports, in order: `name => /path (0x..)` and `/path/ld-linux.so (0x..)`; vdso has none. */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (line.includes('not found')) throw failedPrecondition(`ldd: a library is missing: ${line.trim()}`);
    if (path && !paths.includes(path)) paths.push(path);
  }
  return paths;
}

/** The libraries of `binary`, the dynamic loader among them. */
export async function sharedLibraries(exec: Exec, binary: string): Promise<string[]> {
  const libs = parseLdd((await exec.run('ldd', [binary])).stdout);
  if (!libs.some((l) => /\/ld-linux[^/]*\.so/.test(l))) throw failedPrecondition(`ldd ${binary} named no dynamic loader`);
  return libs;
}
