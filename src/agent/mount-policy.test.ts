import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentError } from '../protocol/index.js';
import { checkKernelMountOptions, checkMountOptions, planMount, remoteDevice } from './mount-policy.js';
import { checkContainerPath, checkGuestPath } from './guest-paths.js';

const refused = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof AgentError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));
};

test('nosuid and nodev are always added, once', () => {
  assert.deepEqual(checkMountOptions('block', []), ['nosuid', 'nodev']);
  assert.deepEqual(checkMountOptions('block', ['noatime', 'nodev', 'ro']), ['noatime', 'nodev', 'ro', 'nosuid']);
  assert.deepEqual(checkMountOptions('block', ['discard', 'discard']), ['discard', 'nosuid', 'nodev']);
});

test('dangerous options are refused by name, with the reason', () => {
  for (const o of ['bind', 'rbind', 'remount', 'move', 'suid', 'dev', 'nobarrier', 'loop']) refused(() => checkMountOptions('block', [o]), new RegExp(`"${o}" is refused`));
  refused(() => checkMountOptions('block', ['exec']), /"exec" is not allowed/);
  refused(() => checkMountOptions('block', ['defaults']), /"defaults" is not allowed/);
  refused(() => checkMountOptions('block', ['data=writeback']), /"data" is not allowed/);
  refused(() => checkMountOptions('block', ['ro,suid']), /one option/);
});

test('NFS options are accepted for NFS only, and their values are checked', () => {
  const nfs = ['vers=4.1', 'proto=tcp', 'port=2049', 'mountport=20048', 'mountproto=tcp', 'addr=10.0.2.100', 'clientaddr=10.0.2.15',
    'nolock', 'hard', 'timeo=600', 'retrans=2', 'rsize=1048576', 'wsize=1048576', 'noresvport', 'actimeo=30', 'nocto', 'sec=sys'];
  assert.deepEqual(checkMountOptions('nfs', nfs), [...nfs, 'nosuid', 'nodev']);
  refused(() => checkMountOptions('block', ['nolock']), /NFS mounts only/);
  refused(() => checkMountOptions('nfs', ['sec=krb5']), /value/);
  refused(() => checkMountOptions('nfs', ['addr=nas.example.com']), /value/);
  refused(() => checkMountOptions('nfs', ['vers=5']), /value/);
  refused(() => checkMountOptions('nfs', ['hard', 'soft']), /contradict/);
  refused(() => checkMountOptions('nfs', ['ro', 'rw']), /contradict/);
  refused(() => checkMountOptions('nfs', ['vers=3', 'vers=4']), /twice/);
  refused(() => checkMountOptions('nfs', ['nolock=1']), /value/);
});

test('targets must be normalised paths under /run/passvol/', () => {
  assert.equal(checkGuestPath('/run/passvol/volumes/v1', 'target'), '/run/passvol/volumes/v1');
  for (const bad of ['/etc', '/run/passvol', '/run/passvol/', '/run/passvol/../etc', '/run/passvol/a/../../etc', '/run/passvol//a', '/run/passvol/a/', '/run/passvol/./a', '/run/passvolx/a', '/run/passvol/a b']) {
    refused(() => checkGuestPath(bad, 'target'), /target/);
  }
});

test('container destinations: absolute, no "..", not the root', () => {
  assert.equal(checkContainerPath('/data/', 'dest'), '/data');
  assert.equal(checkContainerPath('/a//b', 'dest'), '/a/b');
  refused(() => checkContainerPath('/data/../etc', 'dest'), /\.\./);
  refused(() => checkContainerPath('data', 'dest'), /absolute/);
  refused(() => checkContainerPath('/', 'dest'), /root/);
});

test('planMount ties fstype to the source and fills in NFS addr and 9p trans', () => {
  const nfs = planMount({
    source: { kind: 'nfs', server: '10.0.2.100', path: '/export/v1', fstype: 'nfs', options: ['vers=3', 'nolock'] },
    target: '/run/passvol/v/nas',
    fstype: 'nfs',
    options: ['ro'],
  });
  assert.deepEqual(nfs.options, ['vers=3', 'nolock', 'ro', 'addr=10.0.2.100', 'nosuid', 'nodev']);
  assert.equal(nfs.readonly, true);
  refused(
    () => planMount({ source: { kind: 'nfs', server: 'nas.local', path: '/e', fstype: 'nfs', options: [] }, target: '/run/passvol/x', fstype: 'nfs', options: [] }),
    /IP address/,
  );
  refused(
    () => planMount({ source: { kind: 'nfs', server: '10.0.0.1', path: '/e', fstype: 'nfs4', options: [] }, target: '/run/passvol/x', fstype: 'nfs', options: [] }),
    /differs/,
  );
  refused(() => planMount({ source: { kind: 'block', serial: 's' }, target: '/run/passvol/x', fstype: 'vfat', options: [] }), /not offered/);
  const ninep = planMount({ source: { kind: '9p', tag: 't' }, target: '/run/passvol/x', fstype: '9p', options: ['version=9p2000.L', 'msize=262144'] });
  assert.deepEqual(ninep.options, ['version=9p2000.L', 'msize=262144', 'trans=virtio', 'nosuid', 'nodev']);
  const bare = planMount({ source: { kind: '9p', tag: 't' }, target: '/run/passvol/x', fstype: '9p', options: [] });
  assert.deepEqual(bare.options, ['trans=virtio', 'version=9p2000.L', 'msize=262144', 'nosuid', 'nodev']);
  refused(() => planMount({ source: { kind: 'virtiofs', tag: 't' }, target: '/run/passvol/x', fstype: '9p', options: [] }), /virtiofs/);
  // Pod memory: a tmpfs with a size and a mode, nothing else of a disk's or a share's.
  const memory = planMount({ source: { kind: 'tmpfs' }, target: '/run/passvol/x', fstype: 'tmpfs', options: ['size=67108864', 'mode=1777'] });
  assert.deepEqual(memory.options, ['size=67108864', 'mode=1777', 'nosuid', 'nodev']);
  assert.equal(remoteDevice({ kind: 'tmpfs' }), 'tmpfs');
  refused(() => planMount({ source: { kind: 'tmpfs' }, target: '/run/passvol/x', fstype: 'ext4', options: [] }), /tmpfs source needs fstype "tmpfs"/);
  refused(() => planMount({ source: { kind: 'tmpfs' }, target: '/run/passvol/x', fstype: 'tmpfs', options: ['vers=3'] }), /not allowed for a tmpfs mount/);
});

test('remoteDevice brackets IPv6 servers', () => {
  assert.equal(remoteDevice({ kind: 'nfs', server: '10.0.2.100', path: '/export', fstype: 'nfs4', options: [] }), '10.0.2.100:/export');
  assert.equal(remoteDevice({ kind: 'nfs', server: 'fd00::1', path: '/export', fstype: 'nfs4', options: [] }), '[fd00::1]:/export');
  assert.equal(remoteDevice({ kind: 'virtiofs', tag: 'share0' }), 'share0');
});

test('kernel filesystems of a container take their own options; nosuid always, nodev except on devpts', () => {
  assert.deepEqual(checkKernelMountOptions('sysfs', ['nosuid', 'noexec', 'nodev', 'ro']), ['nosuid', 'noexec', 'nodev', 'ro']);
  assert.deepEqual(checkKernelMountOptions('tmpfs', ['size=65536k', 'mode=1777', 'nr_inodes=1k', 'uid=1000', 'gid=1000', 'strictatime']), [
    'size=65536k', 'mode=1777', 'nr_inodes=1k', 'uid=1000', 'gid=1000', 'strictatime', 'nosuid', 'nodev',
  ]);
  assert.deepEqual(checkKernelMountOptions('tmpfs', ['size=50%']), ['size=50%', 'nosuid', 'nodev']);
  assert.deepEqual(checkKernelMountOptions('devpts', ['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']), ['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5', 'nosuid']);
  assert.deepEqual(checkKernelMountOptions('cgroup2', ['ro']), ['ro', 'nosuid', 'nodev']);
  refused(() => checkKernelMountOptions('sysfs', ['size=1m']), /"size" is not allowed for a sysfs mount/);
  refused(() => checkKernelMountOptions('tmpfs', ['mode=999']), /value/);
  refused(() => checkKernelMountOptions('tmpfs', ['size=1t']), /value/);
  refused(() => checkKernelMountOptions('devpts', ['dev']), /"dev" is refused/);
  refused(() => checkKernelMountOptions('mqueue', ['suid']), /"suid" is refused/);
  refused(() => checkKernelMountOptions('tmpfs', ['nolock']), /NFS mounts only/);
});
