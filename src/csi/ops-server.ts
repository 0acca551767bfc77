// /metrics for Prometheus and /healthz for the liveness probe, on one small HTTP listener.
import { createServer, type Server } from 'node:http';
import type { CsiMetrics } from './metrics.js';

export function startOpsServer(address: string, metrics: CsiMetrics, healthy: () => Promise<boolean>): Promise<Server> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')) || '0.0.0.0', Number(address.slice(address.lastIndexOf(':') + 1))];
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/metrics') {
      metrics.registry.metrics().then(
        (body) => {
          res.setHeader('content-type', metrics.registry.contentType);
          res.end(body);
        },
        (e: Error) => {
          res.statusCode = 500;
          res.end(e.message);
        },
      );
    } else if (url === '/healthz') {
      healthy().then(
        (ok) => {
          res.statusCode = ok ? 200 : 503;
          res.end(ok ? 'ok\n' : 'not ready\n');
        },
        () => {
          res.statusCode = 503;
          res.end('not ready\n');
        },
      );
    } else {
      res.statusCode = 404;
      res.end('not found: try /metrics or /healthz\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
