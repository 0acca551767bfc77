// Task events for containerd: Envelope{timestamp, namespace, topic, Any event} forwarded over ttrpc to the
// socket containerd names in TTRPC_ADDRESS (Events/Forward), one at a time so they arrive in order, each
// tried up to 5 times with a growing pause, as containerd's own shims do. CRI learns of exits from Wait,
// not from events, so an event that cannot be delivered is logged and dropped.
import type { Logger } from '../../common/logger.js';
import { codec, protoType, toTimestamp, type Any, type Timestamp } from './messages.js';
import { ttrpcCall } from './ttrpc.js';

const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';
const TRIES = 5;
const CALL_MS = 5_000;

interface ForwardRequest {
  envelope: { timestamp: Timestamp; namespace: string; topic: string; event: Any };
}
const Forward = codec<ForwardRequest>(protoType('ForwardRequest'));

export type Publish = (topic: string, type: string, event: Record<string, unknown>) => void;

export function eventPublisher(o: { ttrpcAddress: string | undefined; namespace: string; log: Logger; pauseMs?: number }): Publish & { drained(): Promise<void> } {
  let queue: Promise<void> = Promise.resolve();
  const send = async (topic: string, type: string, event: Record<string, unknown>, at: Date): Promise<void> => {
    if (!o.ttrpcAddress) return;
    // The event's type is containerd's name for it; its bytes are the same message under passvol's package.
    const value = codec<Record<string, unknown>>(protoType(type)).encode(event);
    const payload = Forward.encode({ envelope: { timestamp: toTimestamp(at), namespace: o.namespace, topic, event: { type_url: `containerd.events.${type}`, value } } });
    for (let i = 1; ; i++) {
      try {
        await ttrpcCall(o.ttrpcAddress.replace(/^unix:\/\//, ''), EVENTS_SERVICE, 'Forward', payload, CALL_MS);
        return;
      } catch (e) {
        if (i >= TRIES) {
          o.log.warn({ topic, err: (e as Error).message }, 'could not deliver an event to containerd');
          return;
        }
        await new Promise((r) => setTimeout(r, (o.pauseMs ?? 1_000) * i));
      }
    }
  };
  const publish = (topic: string, type: string, event: Record<string, unknown>) => {
    const at = new Date();
    // One event that cannot even be encoded must not stop the ones after it.
    queue = queue.then(() => send(topic, type, event, at)).catch((e: Error) => o.log.error({ topic, err: e.message }, 'could not encode an event'));
  };
  return Object.assign(publish, { drained: () => queue });
}
