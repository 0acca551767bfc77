import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessIo } from './process-io.js';

function fifos(t: { after(fn: () => void): void }, ...names: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-pio-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return names.map((n) => {
    const p = join(dir, n);
    execFileSync('mkfifo', [p]);
    return p;
  });
}

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

test('output reaches the client through its FIFOs, and a file:// log appends', async (t) => {
  const [out, err] = fifos(t, 'out', 'err');
  const log = join(mkdtempSync(join(tmpdir(), 'passvol-pio-')), 'log');
  t.after(() => rmSync(log, { force: true }));
  // The client opens its read ends first, as containerd's does.
  const rOut = openSync(out!, constants.O_RDONLY | constants.O_NONBLOCK);
  const rErr = openSync(err!, constants.O_RDONLY | constants.O_NONBLOCK);
  const io = ProcessIo.open({ stdin: '', stdout: out!, stderr: `fifo:${err!}`, terminal: false });
  io.write('stdout', Buffer.from('to out'));
  io.write('stderr', Buffer.from('to err'));
  await tick();
  const buf = Buffer.alloc(64);
  assert.equal(buf.subarray(0, readSync(rOut, buf)).toString(), 'to out');
  assert.equal(buf.subarray(0, readSync(rErr, buf)).toString(), 'to err');
  io.close();
  closeSync(rOut);
  closeSync(rErr);
  const file = ProcessIo.open({ stdin: '', stdout: `file://${log}`, stderr: '', terminal: false });
  file.write('stdout', Buffer.from('line\n'));
  file.close();
  await tick();
  assert.equal(readFileSync(log, 'utf8'), 'line\n');
});

test('a URI it cannot open is refused with nothing left open', (t) => {
  const [out] = fifos(t, 'out');
  assert.throws(() => ProcessIo.open({ stdin: '', stdout: out!, stderr: 'binary:///usr/bin/logger', terminal: false }), /FIFOs and file:\/\/ paths/);
  assert.throws(() => ProcessIo.open({ stdin: '', stdout: '/nonexistent/dir/out', stderr: '', terminal: false }), /cannot open the process's stdio/);
});

test("stdin: read once the client opens its end, in order, then its end when the client's end closes", async (t) => {
  const [inp] = fifos(t, 'in');
  const io = ProcessIo.open({ stdin: inp!, stdout: '', stderr: '', terminal: false });
  const seen: string[] = [];
  io.pipeStdin({
    data: async (d) => {
      await tick(20);
      seen.push(d.toString());
    },
    end: async () => void seen.push('<end>'),
  });
  const w = openSync(inp!, constants.O_WRONLY);
  writeSync(w, 'one ');
  await tick();
  writeSync(w, 'two');
  closeSync(w);
  for (let i = 0; i < 100 && seen.at(-1) !== '<end>'; i++) await tick(20);
  assert.equal(seen.join(''), 'one two<end>');
  io.close();
});

test('stdin: CloseIO right after the last write still delivers all of it, to a slow reader too', async (t) => {
  const [inp] = fifos(t, 'in');
  const io = ProcessIo.open({ stdin: inp!, stdout: '', stderr: '', terminal: false });
  let got = 0;
  let ended = false;
  io.pipeStdin({
    data: async (d) => {
      // Slower, all told, than CloseIO's grace for a client that holds its end.
      await tick(400);
      got += d.length;
    },
    end: async () => void (ended = true),
  });
  // Non-blocking: a full FIFO must not stall this process, which is also its reader.
  const w = openSync(inp!, constants.O_WRONLY | constants.O_NONBLOCK);
  const payload = Buffer.alloc(400 * 1024, 1);
  // The FIFO holds 64 KiB: write the rest as the reader makes room.
  for (let off = 0; off < payload.length; ) {
    try {
      off += writeSync(w, payload, off, Math.min(65536, payload.length - off));
    } catch {
      await tick(20);
    }
  }
  io.closeStdin();
  closeSync(w);
  for (let i = 0; i < 400 && !ended; i++) await tick(25);
  assert.equal(got, payload.length, 'every byte written before CloseIO arrived');
  assert.equal(ended, true);
  io.close();
});

test('stdin the client never writes to: CloseIO ends it (after a moment, as the client may still hold its end)', async (t) => {
  const [inp] = fifos(t, 'in');
  const io = ProcessIo.open({ stdin: inp!, stdout: '', stderr: '', terminal: false });
  let ended = false;
  io.pipeStdin({ data: async () => undefined, end: async () => void (ended = true) });
  await tick();
  assert.equal(ended, false, 'an empty FIFO is not an ended one');
  io.closeStdin();
  for (let i = 0; i < 200 && !ended; i++) await tick(25);
  assert.equal(ended, true);
  io.close();
});
