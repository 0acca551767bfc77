// Parsers of tool output the image build relies on: apt-cache, modprobe --show-depends, ldd, busybox --list.
// (ldd's parser lives in common/ because the benchmark's container needs it too.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKernelDependency, parsePackageVersion, releaseOf } from './apt.js';
import { parseApplets } from './busybox.js';
import { mergeLoadOrders, parseShowDepends } from './module-list.js';
import { plainName, stripModuleSignature } from './modules-stage.js';
import { parseLdd } from '../common/shared-libraries.js';
import { checkGuestPath } from './node-runtime.js';

test('apt-cache: the kernel the meta package depends on, and its version', () => {
  const depends = 'linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n  Recommends: apparmor\n';
  assert.equal(parseKernelDependency(depends), 'linux-image-6.1.0-56-amd64');
  assert.equal(parseKernelDependency('linux-image-amd64\n  Depends: <linux-image-6.1.0-56-amd64>\n'), undefined);
  assert.equal(parsePackageVersion('Package: linux-image-6.1.0-56-amd64\nSource: linux-signed-amd64 (6.1.192+2)\nVersion: 6.1.192-2\nSize: 1\n'), '6.1.192-2');
  assert.equal(releaseOf('linux-image-6.1.0-56-amd64'), '6.1.0-56-amd64');
});

test('modprobe --show-depends: insmod lines in order, builtins skipped, duplicates merged', () => {
  const ext4 = 'insmod /k/crc16.ko \ninsmod /k/mbcache.ko\ninsmod /k/jbd2.ko\ninsmod /k/ext4.ko \n';
  const xfs = 'builtin crc32c_generic\ninsmod /k/libcrc32c.ko.xz \ninsmod /k/xfs.ko.xz opt=1\n';
  assert.deepEqual(parseShowDepends(ext4), ['/k/crc16.ko', '/k/mbcache.ko', '/k/jbd2.ko', '/k/ext4.ko']);
  assert.deepEqual(parseShowDepends(xfs), ['/k/libcrc32c.ko.xz', '/k/xfs.ko.xz']);
  assert.deepEqual(mergeLoadOrders([['a', 'b'], ['b', 'c'], ['a', 'd']], new Set(['d'])), ['a', 'b', 'c']);
  assert.equal(plainName('/k/xfs.ko.xz'), 'xfs.ko');
  assert.equal(plainName('/k/ext4.ko'), 'ext4.ko');
});

test('ldd: libraries and the loader, in order; vdso skipped; a missing library is an error', () => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f1)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f3)',
  ].join('\n');
  assert.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libdl.so.2', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.throws(() => parseLdd('\tlibfoo.so.1 => not found\n'), /missing/);
  assert.equal(checkGuestPath('/usr/lib/x86_64-linux-gnu/libz.so.1'), '/usr/lib/x86_64-linux-gnu/libz.so.1');
  assert.throws(() => checkGuestPath('/opt/lib/libz.so.1'), /outside/);
});

test('busybox --list: sorted applet names, busybox itself left out', () => {
  assert.deepEqual(parseApplets('sh\n[\n[[\ninsmod\nbusybox\nsh\n\n'), ['[', '[[', 'insmod', 'sh']);
});

test('a module loses exactly its appended signature; an unsigned one is left as it is', () => {
  const body = Buffer.from('\x7fELF module body');
  const signature = Buffer.alloc(40, 0xab);
  const info = Buffer.alloc(12);
  info.writeUInt32BE(signature.length, 8);
  const signed = Buffer.concat([body, signature, info, Buffer.from('~Module signature appended~\n')]);
  assert.deepEqual(stripModuleSignature(signed), body);
  assert.equal(stripModuleSignature(body), body);
  info.writeUInt32BE(10_000, 8);
  assert.throws(() => stripModuleSignature(Buffer.concat([body, signature, info, Buffer.from('~Module signature appended~\n')])), /longer than its module/);
});
