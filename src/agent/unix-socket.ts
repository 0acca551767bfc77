// Test transport: the agent listens on a unix socket (mode 0600) instead of the virtio-serial port, and
// serves any number of clients at once.
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';

export async function listenUnix(path: string, onSocket: (s: Socket) => void): Promise<Server> {
  await unlink(path).catch(() => undefined);
  const server = createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return server;
}
