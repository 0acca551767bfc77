// The runtime's side of the agent channel: a unix socket QEMU serves for the guest's virtio-serial port.
// Requests are matched to responses by id, each with a timeout; events (container output, exits, guest
// logs) go to listeners. Agent error codes become PassvolError codes here, at the runtime's edge.
import { connect, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { PassvolError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import {
  LineDecoder,
  PROTOCOL_VERSION,
  decodeAgentMessage,
  encodeLine,
  makeRequest,
  parseResult,
  type AgentErrorCode,
  type AgentEvent,
  type OpArgsInput,
  type OpName,
  type OpResult,
} from '../protocol/index.js';

const CODE_MAP: Record<AgentErrorCode, ErrorCode> = {
  INVALID_ARGUMENT: 'PV_ERR_INVALID_ARGUMENT',
  NOT_FOUND: 'PV_ERR_NOT_FOUND',
  FAILED_PRECONDITION: 'PV_ERR_FAILED_PRECONDITION',
  ALREADY_EXISTS: 'PV_ERR_ALREADY_EXISTS',
  INTERNAL: 'PV_ERR_INTERNAL',
  UNAVAILABLE: 'PV_ERR_SANDBOX_UNREACHABLE',
  PERMISSION_DENIED: 'PV_ERR_FAILED_PRECONDITION',
};

interface Pending {
  op: OpName;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class AgentClient extends EventEmitter<{ event: [AgentEvent]; close: []; restarted: [pid: number] }> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new LineDecoder();
  private closed = false;
  /** True once the agent answered waitReady: a 'ready' event after that is a restarted agent. */
  private ready = false;
  /** Set when the agent speaks another protocol version: every call fails at once with this. */
  private mismatch: PassvolError | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly log: Logger,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', (e) => this.log.debug({ err: e.message }, 'agent socket error'));
  }

  /** Connects to QEMU's socket for the port; QEMU creates it when it starts, so retry until the deadline. */
  static async connect(socketPath: string, log: Logger, timeoutMs: number): Promise<AgentClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(socketPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new AgentClient(socket, log);
      } catch (e) {
        if (Date.now() > deadline) throw new PassvolError('PV_ERR_TIMEOUT', `agent socket ${socketPath} did not open within ${timeoutMs} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  /**
   * Sends ping until the agent answers (it starts after the guest kernel boots), one every `pingEveryMs`:
   * unanswered pings queue up for the agent, so a boot keeps them sparse, while a guest restored from a
   * template answers within a fraction of a second.
   */
  async waitReady(timeoutMs: number, pingEveryMs = 500): Promise<OpResult<'ping'>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const pong = await this.call('ping', {}, pingEveryMs);
        this.ready = true;
        return pong;
      } catch (e) {
        if (this.closed || this.mismatch) throw e;
        if (Date.now() > deadline) throw new PassvolError('PV_ERR_TIMEOUT', `the guest agent did not answer within ${timeoutMs} ms`);
      }
    }
  }

  call<O extends OpName>(op: O, args: OpArgsInput<O>, timeoutMs = 30_000): Promise<OpResult<O>> {
    if (this.mismatch) return Promise.reject(this.mismatch);
    if (this.closed) return Promise.reject(new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', 'the agent channel is closed (the VM stopped?)'));
    const id = this.nextId++;
    const line = encodeLine(makeRequest(id, op, args));
    return new Promise<OpResult<O>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PassvolError('PV_ERR_TIMEOUT', `agent did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { op, resolve: resolve as (v: unknown) => void, reject, timer });
      this.log.debug({ id, op }, 'agent request');
      this.socket.write(line);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const frame of this.decoder.push(chunk)) {
      if (frame.kind !== 'line' || frame.text.trim() === '') continue;
      let msg;
      try {
        msg = decodeAgentMessage(frame.text);
      } catch (e) {
        const version = protocolVersionOf(frame.text);
        if (version !== undefined && version !== PROTOCOL_VERSION) {
          this.refuseProtocol(new PassvolError('PV_ERR_FAILED_PRECONDITION', `the guest agent speaks protocol version ${version}, this runtime ${PROTOCOL_VERSION}: rebuild the guest image (passvol image build) with this passvol`));
          continue;
        }
        // Before the agent runs, the port can carry noise; a malformed line is logged and skipped.
        this.log.debug({ err: (e as Error).message }, 'unparseable line from the agent');
        continue;
      }
      if (msg.kind === 'event') {
        if (msg.event.event === 'ready') {
          if (this.ready) this.onAgentRestart(msg.event.pid);
          continue;
        }
        this.emit('event', msg.event);
        continue;
      }
      const r = msg.response;
      const p = r.id === null ? undefined : this.pending.get(r.id);
      if (!p) continue;
      this.pending.delete(r.id as number);
      clearTimeout(p.timer);
      if (r.ok) {
        try {
          p.resolve(parseResult(p.op, r.result));
        } catch (e) {
          p.reject(new PassvolError('PV_ERR_INTERNAL', `agent answered ${p.op} with an unexpected result: ${(e as Error).message}`));
        }
      } else {
        p.reject(new PassvolError(CODE_MAP[r.error.code], `guest agent: ${r.error.message}`));
      }
    }
  }

  /**
   * The guest's init restarted the agent: what it ran and tracked is gone, so no pending call (a wait for
   * the container, say) will ever be answered. They fail now; 'restarted' tells the sandbox.
   */
  private onAgentRestart(pid: number): void {
    this.log.error({ pid }, 'the guest agent restarted: its containers and their state are gone');
    this.failPending((op) => new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `the guest agent restarted (now pid ${pid}) before answering ${op}; the container it ran is gone`));
    this.emit('restarted', pid);
  }

  /** The agent speaks another protocol: every call, pending or to come, fails with this. */
  private refuseProtocol(e: PassvolError): void {
    this.mismatch = e;
    this.failPending(() => e);
  }

  private failPending(error: (op: string) => PassvolError): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error(p.op));
      this.pending.delete(id);
    }
  }

  private onClose(): void {
    this.closed = true;
    this.failPending((op) => new PassvolError('PV_ERR_SANDBOX_UNREACHABLE', `the agent channel closed before ${op} was answered`));
    this.emit('close');
  }
}

/** The `v` of a JSON object line, if it has a numeric one (whatever else is wrong with the line). */
function protocolVersionOf(line: string): number | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && 'v' in value && typeof value.v === 'number' ? value.v : undefined;
  } catch {
    return undefined;
  }
}
