// Talking to a sandbox shim over its control socket (see sandbox-shim.ts).
import { request } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import { PassvolError, isErrorCode } from '../../common/errors.js';
import { CONTROL_SOCKET, ContainersResponse, ErrorResponse, ExecResponse, StartResponse, type ExecRequest } from './control-api.js';

export class ShimClient {
  private readonly socket: string;

  constructor(sandboxDir: string, private readonly id: string) {
    this.socket = join(sandboxDir, CONTROL_SOCKET);
  }

  /** POSTs `body` as JSON; no body is a GET. */
  private call<T>(path: string, body: unknown, schema: z.ZodType<T>, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, method: body === undefined ? 'GET' : 'POST', path, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            const value: unknown = JSON.parse(text);
            if (res.statusCode === 200) return resolve(schema.parse(value));
            const err = ErrorResponse.safeParse(value);
            reject(err.success && isErrorCode(err.data.code) ? new PassvolError(err.data.code, err.data.message) : new PassvolError('PV_ERR_INTERNAL', `shim answered ${res.statusCode}: ${text.slice(0, 200)}`));
          } catch (e) {
            reject(new PassvolError('PV_ERR_INTERNAL', `shim of sandbox ${this.id} answered what is not understood: ${(e as Error).message}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new PassvolError('PV_ERR_TIMEOUT', `the shim of sandbox ${this.id} did not answer within ${timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof PassvolError) return reject(e);
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return reject(new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `sandbox ${this.id} has no running shim (${this.socket}); \`passvol delete ${this.id}\` cleans up what is left`));
        reject(new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `shim of sandbox ${this.id}: ${e.message}`));
      });
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** Starts the sandbox's own container, or `container`, one added to it. */
  start(container?: string): Promise<{ pid: number }> {
    return this.call('/start', container ? { container } : {}, StartResponse, 60_000);
  }

  kill(signal: string, container?: string): Promise<void> {
    return this.call('/kill', { signal, ...(container ? { container } : {}) }, z.object({}).passthrough(), 30_000).then(() => undefined);
  }

  /** Adds a container (a pod's other) made from `bundle` to the running sandbox. */
  addContainer(id: string, bundle: string): Promise<void> {
    // Its shares are hot-plugged and its volumes attached: as long as a sandbox's own create, less the boot.
    return this.call('/containers', { id, bundle }, z.object({}).passthrough(), 600_000).then(() => undefined);
  }

  removeContainer(id: string): Promise<void> {
    return this.call('/containers/delete', { id }, z.object({}).passthrough(), 600_000).then(() => undefined);
  }

  containers(): Promise<z.infer<typeof ContainersResponse>['containers']> {
    return this.call('/containers', undefined, ContainersResponse, 30_000).then((r) => r.containers);
  }

  exec(request: ExecRequest): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return this.call('/exec', request, ExecResponse, 3600_000);
  }

  delete(): Promise<void> {
    // Longer than the worst teardown: delete the container (30 s), detach each volume, sync (60 s), stop QEMU.
    return this.call('/delete', {}, z.object({}).passthrough(), 600_000).then(() => undefined);
  }
}
