// The sandbox's monitor socket, compatible with Kata's shim management API: `passvol direct-volume
// stats|resize`, Kata's own CLI and the CSI driver reach the guest through it. Resize is real here: block
// resize in the hypervisor, then an online grow in the guest, answered once the container sees the size.
// passvol adds freeze and thaw, so the CSI driver can snapshot a passed-through disk consistently, and
// serves the sandbox's metrics at /metrics, as Kata's shim does (sandbox-metrics.ts).
import { createServer, type Server, type ServerResponse } from 'node:http';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { toPassvolError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { readRequestBody } from '../request-body.js';
import { METRICS_CONTENT_TYPE } from './sandbox-metrics.js';

/** Where Kata's shim serves its Prometheus metrics on the same socket, and kata-monitor scrapes them. */
export const METRICS_URL_PATH = '/metrics';
import type { z } from 'zod';
import {
  ERROR_CODE_HEADER,
  FREEZE_URL_PATH,
  FreezeRequestSchema,
  RESIZE_URL_PATH,
  ResizeRequestSchema,
  STATS_URL_PATH,
  THAW_URL_PATH,
  ThawRequestSchema,
  formatVolumeStats,
} from '../../directvolume/index.js';

export interface Usage {
  total: number;
  used: number;
  available: number;
}

/** What the monitor needs from a sandbox: its passed-through volumes, addressed by the record's device. */
export interface DirectVolumeOps {
  stats(device: string): Promise<{ bytes: Usage; inodes: Usage }>;
  resize(device: string, sizeBytes: number): Promise<void>;
  /** Freezes, or with renew extends the lease of the freeze held now. */
  freeze(device: string, leaseMs: number, renew: boolean): Promise<void>;
  /** True when the freeze held until this thaw. */
  thaw(device: string): Promise<boolean>;
}

function send(res: ServerResponse, status: number, body: string, errorCode?: string): void {
  res.statusCode = status;
  if (errorCode) res.setHeader(ERROR_CODE_HEADER, errorCode);
  res.setHeader('content-type', status === 200 ? 'application/json' : 'text/plain');
  res.end(body);
}

export async function startMonitorServer(socketPath: string, ops: DirectVolumeOps, log: Logger, metrics?: () => Promise<string>): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    /** The body checked against its schema; undefined once a 400 has been sent. */
    const jsonBody = async <T extends z.ZodTypeAny>(schema: T, shape: string): Promise<z.infer<T> | undefined> => {
      let json: unknown;
      try {
        json = JSON.parse(await readRequestBody(req));
      } catch {
        send(res, 400, `body must be JSON: ${shape}`);
        return undefined;
      }
      const body = schema.safeParse(json);
      if (!body.success) {
        send(res, 400, body.error.issues.map((i) => i.message).join('; '));
        return undefined;
      }
      return body.data as z.infer<T>;
    };
    void (async () => {
      try {
        if (url.pathname === METRICS_URL_PATH && req.method === 'GET' && metrics) {
          const text = await metrics();
          res.setHeader('content-type', METRICS_CONTENT_TYPE);
          return res.end(text);
        }
        if (url.pathname === STATS_URL_PATH && req.method === 'GET') {
          const device = url.searchParams.get('path');
          if (!device) return send(res, 400, 'Required parameter path not found');
          const s = await ops.stats(device);
          return send(res, 200, formatVolumeStats(s.bytes, s.inodes));
        }
        if (req.method === 'POST' && url.pathname === RESIZE_URL_PATH) {
          const body = await jsonBody(ResizeRequestSchema, '{"VolumePath":"<device>","Size":<bytes>}');
          if (!body) return;
          log.info({ device: body.VolumePath, bytes: body.Size }, 'online resize requested');
          await ops.resize(body.VolumePath, body.Size);
          return send(res, 200, '');
        }
        if (req.method === 'POST' && url.pathname === FREEZE_URL_PATH) {
          const body = await jsonBody(FreezeRequestSchema, '{"VolumePath":"<device>","LeaseMs":<ms>}');
          if (!body) return;
          if (!body.Renew) log.info({ device: body.VolumePath, leaseMs: body.LeaseMs }, 'freeze for a snapshot requested');
          await ops.freeze(body.VolumePath, body.LeaseMs, body.Renew === true);
          return send(res, 200, '{}');
        }
        if (req.method === 'POST' && url.pathname === THAW_URL_PATH) {
          const body = await jsonBody(ThawRequestSchema, '{"VolumePath":"<device>"}');
          if (!body) return;
          const held = await ops.thaw(body.VolumePath);
          log.info({ device: body.VolumePath, heldThroughout: held }, 'thawed after a snapshot');
          return send(res, 200, JSON.stringify({ held_throughout: held }));
        }
        return send(res, 404, `no such endpoint: ${req.method} ${url.pathname}`);
      } catch (e) {
        const err = toPassvolError(e);
        log.warn({ path: url.pathname, err: err.message }, 'monitor request failed');
        // Kata answers 400, 404 or 500; the exact code rides in a header Kata's clients ignore.
        return send(res, err.httpStatus === 404 ? 404 : err.httpStatus === 400 ? 400 : 500, err.message, err.code);
      }
    })();
  });
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  await chmod(socketPath, 0o600);
  return server;
}

export async function stopMonitorServer(server: Server, socketPath: string): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(socketPath, { force: true });
}
