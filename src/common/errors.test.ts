import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_TABLE, PassvolError, isPassvolError, toPassvolError } from './errors.js';

test('docs/errors.md describes every error code with its gRPC, HTTP and exit codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, m] of Object.entries(ERROR_TABLE)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\``));
    assert.ok(row, `${code} is missing from docs/errors.md`);
    const cells = row.split('|').map((c) => c.trim());
    assert.equal(cells[3], String(m.http), `${code} HTTP status in docs`);
    assert.equal(cells[4], String(m.exit), `${code} exit code in docs`);
  }
});

test('errors keep their code through wrapping and carry mapped statuses', () => {
  const e = new PassvolError('PV_ERR_VOLUME_BUSY', 'busy');
  assert.equal(e.grpcCode, 10);
  assert.equal(e.httpStatus, 409);
  assert.equal(toPassvolError(e), e);
  assert.ok(isPassvolError(e));
  const wrapped = toPassvolError(new Error('boom'));
  assert.equal(wrapped.code, 'PV_ERR_INTERNAL');
  assert.equal(wrapped.exitCode, 1);
  assert.equal(isPassvolError(new Error('x')), false);
});
