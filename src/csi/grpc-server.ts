// The gRPC edge: every handler is wrapped once to log (secrets stripped), count, time, and translate
// PassvolError codes into gRPC statuses. Only here do errors become wire codes.
import { existsSync, lstatSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { toPassvolError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { socketAnswers } from '../common/socket-probe.js';
import type { CsiMetrics } from './metrics.js';
import { stripSecrets } from './log-sanitizer.js';

/** Chatty calls kubelet and sidecars repeat all the time are logged at debug. */
const QUIET = new Set(['Probe', 'GetPluginInfo', 'GetPluginCapabilities', 'NodeGetCapabilities', 'ControllerGetCapabilities', 'NodeGetVolumeStats', 'NodeGetInfo', 'GetCapacity']);

export type ServiceImpl = Record<string, ((request: unknown) => Promise<object>) | undefined>;

export interface EdgeOptions {
  log: Logger;
  metrics: CsiMetrics;
  driver: string;
  mode: string;
}

function wrap(method: string, fn: (request: unknown) => Promise<object>, o: EdgeOptions): grpc.handleUnaryCall<unknown, object> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const req = call.request as Record<string, unknown>;
    const subject = req.volume_id ?? req.source_volume_id ?? req.snapshot_id ?? req.name;
    const log = o.log.child({ method, ...(subject ? { volume: subject } : {}) });
    o.metrics.inflight.inc({ driver: o.driver, method });
    if (!QUIET.has(method)) log.debug({ request: stripSecrets(req) }, 'request');
    const done = (grpcCode: string, err?: Error) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { driver: o.driver, mode: o.mode, method, grpc_code: grpcCode };
      o.metrics.operations.inc(labels);
      o.metrics.duration.observe(labels, seconds);
      o.metrics.inflight.dec({ driver: o.driver, method });
      const fields = { code: grpcCode, ms: Math.round(seconds * 1e4) / 10 };
      if (err) (grpcCode === 'INTERNAL' || grpcCode === 'UNKNOWN' ? log.error : log.warn).call(log, { ...fields, err: err.message }, 'failed');
      else if (QUIET.has(method)) log.debug(fields, 'ok');
      else log.info(fields, 'ok');
    };
    fn(req).then(
      (res) => {
        done('OK');
        callback(null, res);
      },
      (e: unknown) => {
        const pe = toPassvolError(e);
        done(grpc.status[pe.grpcCode] ?? String(pe.grpcCode), pe);
        callback({ code: pe.grpcCode, details: pe.message, name: pe.code, message: pe.message });
      },
    );
  };
}

/** Binds the handlers of `impl` to the methods the service defines; methods it lacks answer UNIMPLEMENTED. */
export function addService(server: grpc.Server, service: grpc.ServiceDefinition, impl: ServiceImpl, o: EdgeOptions): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(service)) {
    const fn = impl[method];
    handlers[method] = fn
      ? wrap(method, fn.bind(impl), o)
      : (_call: unknown, cb: grpc.sendUnaryData<object>) => cb({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not implemented by ${o.driver}` });
  }
  server.addService(service, handlers);
}

/** A socket file left by a crashed driver is removed; one another live process listens on is refused. */
export async function clearStaleSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  if (await socketAnswers(path)) throw new Error(`another process is serving ${path}`);
  unlinkSync(path);
}

export function bindUnix(server: grpc.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
}
