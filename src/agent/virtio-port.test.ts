import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, openSync, closeSync, write, writeSync, readSync } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineDecoder, encodeLine } from '../protocol/index.js';
import { FdDuplex, findVirtioPort } from './virtio-port.js';

const writeAsync = promisify(write);

test('finds the port by its name in /sys/class/virtio-ports', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pv-vport-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [port, name] of [['vport0p0', 'org.qemu.guest_agent.0'], ['vport1p1', 'passvol.agent']] as const) {
    await mkdir(join(dir, port));
    await writeFile(join(dir, port, 'name'), `${name}\n`);
  }
  assert.equal(await findVirtioPort(dir, 'passvol.agent', '/dev', 0), '/dev/vport1p1');
  await assert.rejects(findVirtioPort(dir, 'other', '/dev', 0), /no virtio-serial port named "other"/);
});

// A virtio-serial port is a character device read with blocking reads; FIFOs give the same kind of fd.
test('FdDuplex carries lines both ways over plain (non-socket) file descriptors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pv-fifo-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const toAgent = join(dir, 'in');
  const fromAgent = join(dir, 'out');
  execFileSync('mkfifo', [toAgent, fromAgent]);
  // O_RDWR on a FIFO never blocks in open(); each side keeps its own fds.
  const agentIn = openSync(toAgent, constants.O_RDWR);
  const agentOut = openSync(fromAgent, constants.O_RDWR);
  const hostIn = openSync(fromAgent, constants.O_RDWR | constants.O_NONBLOCK);
  const hostOut = openSync(toAgent, constants.O_RDWR);
  const stream = new FdDuplex(agentIn, agentOut);
  t.after(() => {
    stream.destroy();
    // A blocking read is still waiting in a libuv pool thread; closing its fd does not wake it, data does.
    writeSync(hostOut, '\n');
    closeSync(hostIn);
    closeSync(hostOut);
  });
  const received = new Promise<string[]>((resolve) => {
    const d = new LineDecoder();
    const got: string[] = [];
    stream.on('data', (chunk: Buffer) => {
      for (const f of d.push(chunk)) if (f.kind === 'line') got.push(f.text);
      if (got.length === 2) resolve(got);
    });
  });
  const two = Buffer.concat([encodeLine({ id: 1 }), encodeLine({ id: 2, pad: 'x'.repeat(100_000) })]);
  // Asynchronous writes: the FIFO holds 64 KiB, and the reader needs this thread to drain it.
  await writeAsync(hostOut, two.subarray(0, 10));
  await writeAsync(hostOut, two.subarray(10));
  const lines = await received;
  assert.equal(JSON.parse(lines[0] ?? '').id, 1);
  assert.equal(JSON.parse(lines[1] ?? '').pad.length, 100_000);
  await new Promise<void>((r) => stream.write(encodeLine({ ok: true }), () => r()));
  const buf = Buffer.alloc(64);
  const n = readSync(hostIn, buf);
  assert.equal(buf.subarray(0, n).toString(), '{"ok":true}\n');
});
