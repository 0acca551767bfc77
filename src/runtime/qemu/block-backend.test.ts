import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAttempts, blockdevArgs, isBackendSettingError } from './block-backend.js';

test('default is O_DIRECT with native AIO, falling back to threads, then to the page cache', () => {
  assert.deepEqual(backendAttempts(), [
    { cacheDirect: true, aio: 'native', iothread: false },
    { cacheDirect: true, aio: 'threads', iothread: false },
    { cacheDirect: false, aio: 'threads', iothread: false },
  ]);
});

test('native AIO without O_DIRECT is not a valid combination: it becomes threads', () => {
  assert.deepEqual(backendAttempts({ cacheDirect: false }), [{ cacheDirect: false, aio: 'threads', iothread: false }]);
  assert.deepEqual(backendAttempts({ aio: 'io_uring', iothread: true })[0], { cacheDirect: true, aio: 'io_uring', iothread: true });
});

test('blockdev-add arguments: host_device for block devices, a raw node on top, flushes honoured', () => {
  const args = blockdevArgs({ id: 'vol1', path: '/dev/loop3', isBlockDevice: true, readonly: false, settings: { cacheDirect: true, aio: 'native', iothread: false } });
  assert.deepEqual(args, {
    driver: 'raw',
    'node-name': 'vol1-fmt',
    'read-only': false,
    discard: 'unmap',
    cache: { direct: true, 'no-flush': false },
    file: { driver: 'host_device', filename: '/dev/loop3', 'node-name': 'vol1-file', 'read-only': false, aio: 'native', cache: { direct: true, 'no-flush': false } },
  });
  assert.equal(blockdevArgs({ id: 'v', path: '/x.raw', isBlockDevice: false, readonly: true, settings: { cacheDirect: false, aio: 'threads', iothread: false } }).file.driver, 'file');
});

test('errors about O_DIRECT or aio are worth the next attempt; others are not', () => {
  assert.equal(isBackendSettingError("Could not open '/tmp/x': filesystem does not support O_DIRECT"), true);
  assert.equal(isBackendSettingError('aio=native was specified, but it requires cache.direct=on'), true);
  assert.equal(isBackendSettingError("Could not open '/dev/nope': No such file or directory"), false);
});
