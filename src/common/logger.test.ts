import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_LEVEL_ENV, createLogger, resolveLogLevel } from './logger.js';

test('log level: the flag wins, then $PASSVOL_LOG_LEVEL, then the command default', () => {
  assert.equal(resolveLogLevel('debug', { [LOG_LEVEL_ENV]: 'error' }, 'warn'), 'debug');
  assert.equal(resolveLogLevel(undefined, { [LOG_LEVEL_ENV]: 'error' }, 'warn'), 'error');
  assert.equal(resolveLogLevel(undefined, {}, 'warn'), 'warn');
  assert.equal(resolveLogLevel(undefined, { [LOG_LEVEL_ENV]: '' }, 'warn'), 'warn', 'set but empty is unset');
  assert.equal(resolveLogLevel('', { [LOG_LEVEL_ENV]: 'trace' }, 'warn'), 'trace');
  assert.throws(() => resolveLogLevel(undefined, { [LOG_LEVEL_ENV]: 'loud' }, 'warn'), /PASSVOL_LOG_LEVEL=loud is not a log level/);
});

test('createLogger reads $PASSVOL_LOG_LEVEL only when no level is given', () => {
  const saved = process.env[LOG_LEVEL_ENV];
  try {
    process.env[LOG_LEVEL_ENV] = 'debug';
    assert.equal(createLogger({ level: 'error' }).level, 'error');
    assert.equal(createLogger({ level: undefined, defaultLevel: 'warn' }).level, 'debug');
    delete process.env[LOG_LEVEL_ENV];
    assert.equal(createLogger({ defaultLevel: 'warn' }).level, 'warn');
    assert.equal(createLogger().level, 'info');
  } finally {
    if (saved === undefined) delete process.env[LOG_LEVEL_ENV];
    else process.env[LOG_LEVEL_ENV] = saved;
  }
});
