import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAgentLogger, forThisProcess } from './logger.js';

function collecting(): { lines: () => Record<string, unknown>[]; sink: { write: (s: string) => void } } {
  const out: string[] = [];
  return { lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>), sink: { write: (s) => void out.push(s) } };
}

test('a logger made ahead (as in the startup snapshot) takes the level and pid of the process that logs', () => {
  const { lines, sink } = collecting();
  const log = forThisProcess(createAgentLogger('info', sink), 'warn');
  log.info('dropped at warn');
  log.warn({ env: { TOKEN: 'secret' }, path: '/x' }, 'kept');
  const [line, ...rest] = lines();
  assert.equal(rest.length, 0);
  assert.equal(line?.msg, 'kept');
  assert.equal(line?.pid, process.pid);
  assert.equal(line?.name, 'passvol-agent');
  assert.equal(line?.env, '[redacted]');
  assert.equal(line?.path, '/x');
});

test('child loggers carry the pid once', () => {
  const out: string[] = [];
  const sink = { write: (s: string) => void out.push(s) };
  forThisProcess(createAgentLogger('info', sink), 'debug').child({ part: 'containers' }).debug('hello');
  assert.equal(out.length, 1);
  assert.equal(out[0]?.match(/"pid":/g)?.length, 1);
  assert.equal((JSON.parse(out[0] ?? '{}') as { part?: string }).part, 'containers');
});
