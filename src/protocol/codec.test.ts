import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineDecoder, MAX_LINE_BYTES, MessageTooLargeError, encodeLine, type Frame } from './codec.js';

const texts = (frames: Frame[]): string[] => frames.map((f) => (f.kind === 'line' ? f.text : `<oversize ${f.bytes}>`));

/** Feeds `bytes` to a decoder cut at the given positions. */
function feed(decoder: LineDecoder, bytes: Buffer, cuts: number[]): Frame[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const frames: Frame[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    frames.push(...decoder.push(bytes.subarray(last, p)));
    last = p;
  }
  return frames;
}

test('splits lines and keeps a partial line until its newline arrives', () => {
  const d = new LineDecoder();
  assert.deepEqual(texts(d.push('{"a":1}\n{"b"')), ['{"a":1}']);
  assert.equal(d.pendingBytes, 4);
  assert.deepEqual(texts(d.push(':2}\n\n')), ['{"b":2}', '']);
  assert.equal(d.pendingBytes, 0);
});

test('a multi-byte character split across chunks is put back together', () => {
  const bytes = encodeLine({ msg: 'grüße 🚀 中文' });
  const d = new LineDecoder();
  const frames: Frame[] = [];
  for (const b of bytes) frames.push(...d.push(Buffer.from([b])));
  assert.deepEqual(texts(frames), [JSON.stringify({ msg: 'grüße 🚀 中文' })]);
});

test('encodeLine escapes newlines inside strings so a message is always one line', () => {
  const line = encodeLine({ data: 'a\nb\r\n' });
  assert.equal(line.indexOf(0x0a), line.length - 1);
});

test('encodeLine refuses a message over the line limit', () => {
  assert.throws(() => encodeLine({ data: 'x'.repeat(MAX_LINE_BYTES) }), MessageTooLargeError);
  assert.ok(encodeLine({ data: 'x'.repeat(MAX_LINE_BYTES - 20) }).length <= MAX_LINE_BYTES + 1);
});

test('an oversize line is dropped whole, reported once with its head, and the next line is intact', () => {
  const d = new LineDecoder({ maxLineBytes: 16 });
  const frames = [...d.push('{"v":1,"id":42,"op":"ping"'), ...d.push('xxxxxxxxxxxxxxxxxxxxxxxx'), ...d.push('xx\n{"ok":1}\n')];
  assert.equal(frames.length, 2);
  const [big, next] = frames;
  assert.equal(big?.kind, 'oversize');
  if (big?.kind === 'oversize') {
    assert.equal(big.bytes, 26 + 24 + 2);
    assert.ok(big.head.startsWith('{"v":1,"id":42'));
  }
  assert.deepEqual(next, { kind: 'line', text: '{"ok":1}' });
});

test('a line of exactly the limit passes; one byte more does not', () => {
  const d = new LineDecoder({ maxLineBytes: 8 });
  assert.deepEqual(texts(d.push('12345678\n123456789\n')), ['12345678', '<oversize 9>']);
});

test('property: any messages, cut into any chunks, decode to the same messages', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  fc.assert(
    fc.property(fc.array(json, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (messages, cuts) => {
      const bytes = Buffer.concat(messages.map((m) => encodeLine(m)));
      const frames = feed(new LineDecoder(), bytes, cuts);
      assert.deepEqual(
        frames.map((f) => (f.kind === 'line' ? JSON.parse(f.text) : f)),
        messages.map((m) => JSON.parse(JSON.stringify(m))),
      );
    }),
    { numRuns: 300 },
  );
});

test('property: oversize lines never swallow or corrupt their neighbours, whatever the chunking', () => {
  const limit = 32;
  const line = fc.oneof(
    fc.string({ maxLength: limit }).map((s) => s.replace(/\n/g, ' ')),
    fc.string({ minLength: limit + 1, maxLength: 4 * limit }).map((s) => s.replace(/\n/g, ' ')),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 40 }), (lines, cuts) => {
      const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
      const frames = feed(new LineDecoder({ maxLineBytes: limit }), bytes, cuts);
      const expected = lines.map((l) => (Buffer.byteLength(l) > limit ? `<oversize ${Buffer.byteLength(l)}>` : l));
      assert.deepEqual(texts(frames), expected);
    }),
    { numRuns: 300 },
  );
});
