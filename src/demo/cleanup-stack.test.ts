import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CleanupStack } from './cleanup-stack.js';

test('every cleanup step runs, the last pushed first, whatever the others throw', async () => {
  const ran: string[] = [];
  const s = new CleanupStack();
  s.push('a', () => ran.push('a'));
  s.push('b', () => {
    ran.push('b');
    throw new Error('b broke');
  });
  s.push('c', async () => {
    ran.push('c');
    await Promise.reject(new Error('c broke'));
  });
  s.push('d', () => ran.push('d'));
  const failures = await s.run();
  assert.deepEqual(ran, ['d', 'c', 'b', 'a']);
  assert.deepEqual(failures.map((f) => [f.step, (f.error as Error).message]), [['c', 'c broke'], ['b', 'b broke']]);
  assert.equal(s.size, 0);
  assert.deepEqual(await s.run(), [], 'each step runs once');
});

test('runOrThrow throws the one failure as it is, or one error naming them all', async () => {
  const one = new CleanupStack();
  const boom = new Error('boom');
  one.push('x', () => {
    throw boom;
  });
  await assert.rejects(one.runOrThrow(), (e) => e === boom);
  const two = new CleanupStack();
  two.push('x', () => {
    throw new Error('x broke');
  });
  two.push('y', () => {
    throw new Error('y broke');
  });
  await assert.rejects(two.runOrThrow(), /^AggregateError: y: y broke; x: x broke$/);
  await new CleanupStack().runOrThrow();
});
