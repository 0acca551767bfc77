// `-M microvm` (and fast direct boot in general) wants the ELF vmlinux with its PVH entry, not the bzImage.
// Debian's vmlinuz carries it as one xz stream after the setup code: find the stream, decompress only it
// (`--single-stream` ignores the trailing data), and check the result is ELF.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { PassvolError } from '../common/errors.js';

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export type PayloadFormat = 'xz' | 'gzip';

/** Where the compressed kernel starts inside a bzImage, and how it is compressed. */
export function findPayload(image: Buffer): { format: PayloadFormat; offset: number } | undefined {
  const xz = image.indexOf(XZ_MAGIC);
  if (xz >= 0) return { format: 'xz', offset: xz };
  const gz = image.indexOf(GZIP_MAGIC);
  if (gz >= 0) return { format: 'gzip', offset: gz };
  return undefined;
}

export async function extractVmlinux(vmlinuzPath: string, outPath: string): Promise<void> {
  const image = await readFile(vmlinuzPath);
  const payload = findPayload(image);
  if (!payload) throw new PassvolError('PV_ERR_INTERNAL', `${vmlinuzPath}: no xz or gzip payload found`);
  const data = image.subarray(payload.offset);
  if (payload.format === 'gzip') await writeFile(outPath, gunzipSync(data));
  else await xzSingleStream(data, outPath);
  const fh = await open(outPath, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    if (!head.equals(ELF_MAGIC)) throw new PassvolError('PV_ERR_INTERNAL', `${vmlinuzPath}: the decompressed kernel is not ELF`);
  } finally {
    await fh.close();
  }
}

async function xzSingleStream(data: Buffer, outPath: string): Promise<void> {
  const child = spawn('xz', ['-dc', '--single-stream'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = createWriteStream(outPath);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.on('error', () => undefined); // xz stops reading after the stream: EPIPE is expected
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) => reject(new PassvolError('PV_ERR_EXTERNAL_COMMAND', `xz: ${e.message} (install xz-utils)`, { cause: e })));
    child.on('close', resolve);
  });
  const written = new Promise<void>((resolve, reject) => out.on('finish', resolve).on('error', reject));
  child.stdout.pipe(out);
  child.stdin.end(data);
  const [code] = await Promise.all([exited, written]);
  if (code !== 0) throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `xz -dc --single-stream failed (exit ${code}): ${stderr.trim()}`);
}
