import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LineDecoder, PROTOCOL_VERSION, encodeLine, type ErrorResponse, type Frame, type ResponseEnvelope } from '../protocol/index.js';
import type { AgentContext } from './context.js';
import type { ContainerRegistry } from './containers.js';
import { createDispatcher } from './dispatcher.js';
import { PathMapper } from './guest-paths.js';

// Only what ping and the failing ops below touch; everything else would throw if reached.
const ctx = {
  log: pino({ level: 'silent' }),
  paths: new PathMapper('/nonexistent-root'),
  containers: {
    signal: () => {
      throw new TypeError('boom');
    },
  } as unknown as ContainerRegistry,
} as unknown as AgentContext;
const dispatch = createDispatcher(ctx);

const line = (text: string): Frame => ({ kind: 'line', text });
const failed = (r: ResponseEnvelope): ErrorResponse => {
  assert.equal(r.ok, false);
  return r as ErrorResponse;
};

test('a valid request gets its result', async () => {
  const r = await dispatch(line(JSON.stringify({ v: 3, id: 1, op: 'ping' })));
  assert.ok(r.ok && r.id === 1);
  assert.equal((r.result as { protocol: number }).protocol, PROTOCOL_VERSION);
  assert.equal((r.result as { modulesReady: boolean }).modulesReady, false, 'no init mark under this root');
});

test('malformed requests get error responses with the id when it can be read', async () => {
  const cases: [string, number | null, string, RegExp][] = [
    ['not json', null, 'INVALID_ARGUMENT', /not JSON/],
    ['', null, 'INVALID_ARGUMENT', /empty/],
    ['[1,2]', null, 'INVALID_ARGUMENT', /malformed/],
    [JSON.stringify({ v: 3, id: 2, op: 'launchMissiles' }), 2, 'INVALID_ARGUMENT', /unknown op "launchMissiles"/],
    [JSON.stringify({ v: 3, id: 3, op: 'statfs', args: { path: 7 } }), 3, 'INVALID_ARGUMENT', /args\.path/],
    [JSON.stringify({ v: 3, id: 4, op: 'ping', args: {}, extra: 1 }), 4, 'INVALID_ARGUMENT', /extra/],
    [JSON.stringify({ v: PROTOCOL_VERSION + 1, id: 5, op: 'ping' }), 5, 'FAILED_PRECONDITION', new RegExp(`speaks v${PROTOCOL_VERSION}`)],
    [JSON.stringify({ id: 6, op: 'ping' }), 6, 'INVALID_ARGUMENT', /v/],
    [JSON.stringify({ v: 3, id: -1, op: 'ping' }), null, 'INVALID_ARGUMENT', /id/],
    [JSON.stringify({ v: 3, id: 7, op: '__proto__' }), 7, 'INVALID_ARGUMENT', /unknown op/],
    [JSON.stringify({ v: 3, id: 8, op: 'mount', args: { source: { kind: 'block', serial: 's' }, target: '/etc', fstype: 'ext4' } }), 8, 'INVALID_ARGUMENT', /under \/run\/passvol/],
    [JSON.stringify({ v: 3, id: 9, op: 'signal', args: { containerId: 'c', execId: 'e', signal: 'SIGTERM' } }), 9, 'INTERNAL', /boom/],
  ];
  for (const [text, id, code, message] of cases) {
    const r = failed(await dispatch(line(text)));
    assert.equal(r.id, id, text);
    assert.equal(r.error.code, code, text);
    assert.match(r.error.message, message, text);
  }
});

test('an oversize line is answered with its id, read from the head of the line', async () => {
  const decoder = new LineDecoder();
  const big = encodeLine({ v: 3, id: 77, op: 'writeStdin', args: { containerId: 'c', execId: 'e', data: 'A'.repeat(1000) } });
  const huge = Buffer.concat([big.subarray(0, big.length - 1), Buffer.alloc(1024 * 1024, 0x41), Buffer.from('\n')]);
  const frames = decoder.push(huge);
  assert.equal(frames[0]?.kind, 'oversize');
  const r = failed(await dispatch(frames[0] as Frame));
  assert.equal(r.id, 77);
  assert.match(r.error.message, /exceeds the 1048576-byte limit/);
});
