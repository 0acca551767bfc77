// The guest end of the runtime's channel: a virtio-serial port named `passvol.agent`. The kernel lists
// ports as /sys/class/virtio-ports/vportNpM/name and creates /dev/vportNpM.
//
// A port is a character device, which Node cannot wrap in a net.Socket, so FdDuplex reads it with blocking
// fs.read calls (one libuv pool thread waits on it) and writes with fs.write. A read of 0 bytes means the
// host side is not connected (yet, or any more): the agent waits and reads again instead of ending.
import { open, read, write, close, constants } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

const READ_SIZE = 64 * 1024;

/** Finds the device node of the port named `name`, waiting up to `waitMs` for it to appear. */
export async function findVirtioPort(portsDir: string, name: string, devDir: string, waitMs: number): Promise<string> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    for (const entry of (await readdir(portsDir).catch(() => [] as string[])).sort()) {
      const portName = (await readFile(join(portsDir, entry, 'name'), 'utf8').catch(() => '')).trim();
      if (portName === name) return join(devDir, entry);
    }
    if (performance.now() >= deadline) throw new Error(`no virtio-serial port named "${name}" under ${portsDir} after ${waitMs} ms`);
    await sleep(100);
  }
}

export function openReadWrite(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, constants.O_RDWR | constants.O_NOCTTY, (e, fd) => (e ? reject(e) : resolve(fd))));
}

export class FdDuplex extends Duplex {
  private readonly buffer = Buffer.alloc(READ_SIZE);

  constructor(
    private readonly readFd: number,
    private readonly writeFd: number = readFd,
    private readonly reconnectDelayMs = 200,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    read(this.readFd, this.buffer, 0, READ_SIZE, null, (e, n) => {
      if (this.destroyed) return;
      if (e) {
        if (e.code === 'EAGAIN' || e.code === 'EINTR') {
          setTimeout(() => this._read(), 10);
          return;
        }
        this.destroy(e);
        return;
      }
      if (n === 0) {
        setTimeout(() => this._read(), this.reconnectDelayMs);
        return;
      }
      this.push(Buffer.from(this.buffer.subarray(0, n)));
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const writeFrom = (offset: number): void => {
      write(this.writeFd, chunk, offset, chunk.length - offset, null, (e, n) => {
        if (e) {
          if (e.code === 'EAGAIN' || e.code === 'EINTR') {
            setTimeout(() => writeFrom(offset), 10);
            return;
          }
          callback(e);
          return;
        }
        if (offset + n < chunk.length) writeFrom(offset + n);
        else callback();
      });
    };
    writeFrom(0);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fds = [...new Set([this.readFd, this.writeFd])];
    let left = fds.length;
    for (const fd of fds) close(fd, () => --left === 0 && callback(error));
  }
}
