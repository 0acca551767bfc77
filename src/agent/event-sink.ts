// Where the agent sends unsolicited events (process output, exits, logs): every connected runtime.
import type { AgentEvent } from '../protocol/index.js';

export interface EventSink {
  /** Sends an event; false means a peer's buffer is full and producers should pause until `drained()`. */
  emit(event: AgentEvent): boolean;
  drained(): Promise<void>;
}
