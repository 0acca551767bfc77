// A real HTTP server on a unix socket, standing in for a sandbox's monitor socket in client tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface SeenRequest {
  method: string;
  url: string;
  body: string;
}

export async function startUnixHttpServer(
  socketPath: string,
  handle: (req: SeenRequest, res: ServerResponse) => void,
): Promise<{ seen: SeenRequest[]; close: () => Promise<void> }> {
  await mkdir(dirname(socketPath), { recursive: true });
  const seen: SeenRequest[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') };
      seen.push(r);
      handle(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
