// Client of a sandbox's monitor socket, addressed as Kata's CLI addresses it: by sandbox id, trying the Go
// shim's socket and then runtime-rs's, with Kata's 3 s timeout (longer for the calls that wait on the guest).
import { request } from 'node:http';
import { PassvolError, errnoCode, invalidArgument, isErrorCode, notFound } from '../common/errors.js';
import {
  DEFAULT_GO_SHIM_ROOT,
  ERROR_CODE_HEADER,
  DEFAULT_RS_SHIM_ROOT,
  MONITOR_TIMEOUT_MS,
  FREEZE_URL_PATH,
  RESIZE_URL_PATH,
  STATS_URL_PATH,
  THAW_URL_PATH,
  ThawAnswerSchema,
  goQueryEscape,
  monitorSocketPath,
} from './monitor-api.js';
import { validateSandboxId } from './sandbox-id.js';

export interface MonitorClientOptions {
  goShimRoot?: string;
  rsShimRoot?: string;
  timeoutMs?: number;
}

/** A freeze first writes out what is dirty in the guest, which under TCG can take much longer than a stats call. */
const FREEZE_TIMEOUT_MS = 150_000;
/**
 * A resize answers once the container sees the new size: QEMU's block_resize, up to 30 s for the guest to
 * see the device grow, then resize2fs or xfs_growfs (up to 120 s for a large growth under TCG). Kata's 3 s
 * would report a timeout while the grow goes on and succeeds.
 */
const RESIZE_TIMEOUT_MS = 180_000;

interface HttpAnswer {
  status: number;
  body: string;
  errorCode?: string;
}

/** Connection failures that mean "no shim listens here", so the next candidate socket is tried. */
const NOT_LISTENING = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'ENOTSOCK']);

export class MonitorClient {
  private readonly roots: string[];
  private readonly timeoutMs: number;

  constructor(options: MonitorClientOptions = {}) {
    this.roots = [options.goShimRoot ?? DEFAULT_GO_SHIM_ROOT, options.rsShimRoot ?? DEFAULT_RS_SHIM_ROOT];
    this.timeoutMs = options.timeoutMs ?? MONITOR_TIMEOUT_MS;
  }

  socketCandidates(sandboxId: string): string[] {
    validateSandboxId(sandboxId);
    return this.roots.map((root) => monitorSocketPath(root, sandboxId));
  }

  /** The raw JSON body the shim answers for the volume's device. */
  async stats(sandboxId: string, device: string): Promise<string> {
    const answer = await this.call(sandboxId, 'GET', `${STATS_URL_PATH}?path=${goQueryEscape(device)}`);
    return answer.body;
  }

  async resize(sandboxId: string, device: string, sizeBytes: number): Promise<void> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw invalidArgument(`size ${sizeBytes} must be a positive whole number of bytes`);
    await this.call(sandboxId, 'POST', RESIZE_URL_PATH, JSON.stringify({ VolumePath: device, Size: sizeBytes }), RESIZE_TIMEOUT_MS);
  }

  /**
   * Freezes the guest filesystem of the volume's device for at most leaseMs (passvol's runtime only; Kata's
   * answers NotFound). Waits as long as the guest needs to write out what is dirty.
   */
  async freeze(sandboxId: string, device: string, leaseMs: number, options: { renew?: boolean } = {}): Promise<void> {
    const body = { VolumePath: device, LeaseMs: leaseMs, ...(options.renew ? { Renew: true } : {}) };
    await this.call(sandboxId, 'POST', FREEZE_URL_PATH, JSON.stringify(body), FREEZE_TIMEOUT_MS);
  }

  /** Thaws it; true when the freeze held from freeze() until now. */
  async thaw(sandboxId: string, device: string): Promise<boolean> {
    const answer = await this.call(sandboxId, 'POST', THAW_URL_PATH, JSON.stringify({ VolumePath: device }), FREEZE_TIMEOUT_MS);
    return ThawAnswerSchema.parse(JSON.parse(answer.body)).held_throughout;
  }

  private async call(sandboxId: string, method: string, path: string, body?: string, timeoutMs = this.timeoutMs): Promise<HttpAnswer> {
    const tried: string[] = [];
    for (const socketPath of this.socketCandidates(sandboxId)) {
      let answer: HttpAnswer;
      try {
        answer = await this.send(socketPath, method, path, timeoutMs, body);
      } catch (e) {
        if (NOT_LISTENING.has(errnoCode(e) ?? '')) {
          tried.push(`${socketPath} (${errnoCode(e)})`);
          continue;
        }
        throw e;
      }
      if (answer.status >= 200 && answer.status < 300) return answer;
      const text = answer.body.trim() || `HTTP ${answer.status}`;
      const msg = `sandbox ${sandboxId} refused ${method} ${path.split('?')[0]}: ${text}`;
      if (answer.errorCode !== undefined && isErrorCode(answer.errorCode)) throw new PassvolError(answer.errorCode, msg);
      if (answer.status === 404) throw notFound(msg);
      if (answer.status >= 400 && answer.status < 500) throw invalidArgument(msg);
      throw new PassvolError('PV_ERR_INTERNAL', msg);
    }
    throw new PassvolError(
      'PV_ERR_SANDBOX_UNREACHABLE',
      `no monitor socket of sandbox ${sandboxId} answered (tried ${tried.join(', ')}); is the sandbox running?`,
    );
  }

  private send(socketPath: string, method: string, path: string, timeoutMs: number, body?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath,
          method,
          path,
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          const code = res.headers[ERROR_CODE_HEADER];
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ...(typeof code === 'string' ? { errorCode: code } : {}) }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => {
        req.destroy(new PassvolError('PV_ERR_TIMEOUT', `monitor socket ${socketPath} did not answer within ${timeoutMs} ms`));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
