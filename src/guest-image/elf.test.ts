import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { isStaticElf64 } from './elf.js';
import { findPayload } from './vmlinux.js';

test('a static busybox has no PT_INTERP; node does', { skip: existsSync('/bin/busybox') ? undefined : 'no /bin/busybox' }, () => {
  assert.equal(isStaticElf64(readFileSync('/bin/busybox')), true);
  assert.equal(isStaticElf64(readFileSync(process.execPath)), false);
  assert.equal(isStaticElf64(Buffer.from('not an elf file, just text, long enough to pass the size check....')), false);
});

test('the compressed kernel is found after the setup code', () => {
  const image = Buffer.concat([Buffer.alloc(100, 0x90), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(10)]);
  assert.deepEqual(findPayload(image), { format: 'xz', offset: 100 });
  assert.deepEqual(findPayload(Buffer.concat([Buffer.alloc(8), Buffer.from([0x1f, 0x8b, 0x08, 0])])), { format: 'gzip', offset: 8 });
  assert.equal(findPayload(Buffer.alloc(64)), undefined);
});
