// The set of connected peers. Events go to every one of them; with none connected, events are dropped.
import type { AgentEvent } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { EventSink } from './event-sink.js';

export class ConnectionHub implements EventSink {
  private readonly connections = new Set<Connection>();

  add(c: Connection): void {
    this.connections.add(c);
  }

  remove(c: Connection): void {
    this.connections.delete(c);
  }

  emit(event: AgentEvent): boolean {
    let ok = true;
    for (const c of this.connections) ok = c.send(event) && ok;
    return ok;
  }

  async drained(): Promise<void> {
    await Promise.all([...this.connections].map((c) => c.drained()));
  }

  async endAll(): Promise<void> {
    await Promise.all([...this.connections].map((c) => c.end()));
  }
}
