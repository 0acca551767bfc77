import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { isPassvolError } from '../common/errors.js';
import { parseFlags } from './parse-flags.js';

test('a bad flag value is refused naming the flag as typed, and a good one comes back parsed', () => {
  const schema = z.object({ pseudoPath: z.string().startsWith('/', 'must be an absolute path'), rounds: z.coerce.number().int().min(1) });
  assert.deepEqual(parseFlags(schema, { pseudoPath: '/export', rounds: '3' }), { pseudoPath: '/export', rounds: 3 });
  assert.throws(
    () => parseFlags(schema, { pseudoPath: 'export', rounds: '0' }),
    (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT' && /^--pseudo-path: must be an absolute path; --rounds: /.test(e.message),
  );
});
