import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPassvolError } from '../../../common/errors.js';
import { defaultMountOptions, fstypeOf, mergeMountOptions, nfsMountOptions, parseMountOptions } from './nfs-options.js';

const invalid = (re: RegExp) => (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT' && re.test(e.message);

test('defaults per version, as the cloud vendors mount', () => {
  assert.equal(defaultMountOptions('3').join(','), 'vers=3,nolock,proto=tcp,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport');
  assert.equal(defaultMountOptions('4.1').join(','), 'vers=4.1,noresvport');
  assert.equal(defaultMountOptions('4').join(','), 'vers=4.1,noresvport');
  assert.equal(defaultMountOptions('4.0').join(','), 'vers=4.0,noresvport');
  assert.equal(fstypeOf('3'), 'nfs');
  assert.equal(fstypeOf('4.0'), 'nfs4');
});

test('the StorageClass overrides the defaults, and mount_flags override both, option by option', () => {
  assert.deepEqual(nfsMountOptions('3', 'soft,timeo=100,lock'), ['vers=3', 'lock', 'proto=tcp', 'rsize=1048576', 'wsize=1048576', 'soft', 'timeo=100', 'retrans=2', 'noresvport']);
  assert.deepEqual(nfsMountOptions('4.1', 'resvport, actimeo=30', ['noresvport', 'actimeo=5', 'ro']), ['vers=4.1', 'noresvport', 'actimeo=5', 'ro']);
  assert.deepEqual(nfsMountOptions('4.1', 'nfsvers=4.0'), ['vers=4.0', 'noresvport']);
  assert.deepEqual(nfsMountOptions('4', undefined, ['vers=4.2']), ['vers=4.2', 'noresvport']);
  assert.deepEqual(nfsMountOptions('3', 'udp'), nfsMountOptions('3').map((o) => (o === 'proto=tcp' ? 'udp' : o)));
  assert.deepEqual(mergeMountOptions(['ro'], ['rw']), ['rw']);
});

test('the major version cannot be changed by options', () => {
  assert.throws(() => nfsMountOptions('4.1', 'vers=3'), invalid(/mountOptions: vers=3 contradicts nfsVersion 4\.1/));
  assert.throws(() => nfsMountOptions('3', undefined, ['nfsvers=4.1']), invalid(/mount_flags/));
});

test('bind mounts and malformed options are refused', () => {
  for (const bad of ['bind', 'rbind', 'ro,bind', 'remount']) assert.throws(() => nfsMountOptions('4.1', bad), invalid(/not allowed/), bad);
  assert.throws(() => nfsMountOptions('4.1', undefined, ['rbind']), invalid(/mount_flags: "rbind" is not allowed/));
  for (const bad of ['a b', 'x="y"', 'context=a;b', 'k=v\nx']) assert.throws(() => parseMountOptions(bad, 'mountOptions'), invalid(/not a mount option/), bad);
  assert.deepEqual(parseMountOptions(' hard ,, timeo=600 ', 'x'), ['hard', 'timeo=600']);
});
