import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPassvolError } from '../../../common/errors.js';
import { parseNasParameters } from './nas-parameters.js';

const invalid = (re: RegExp) => (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT' && re.test(e.message);

test('defaults: onDelete delete, NFS 4.1', () => {
  assert.deepEqual(parseNasParameters({ server: '127.0.0.1', share: '/export/' }), { server: '127.0.0.1', share: '/export', onDelete: 'delete', nfsVersion: '4.1' });
});

test('every known key is accepted', () => {
  const p = parseNasParameters({
    server: 'nas.example.com',
    share: '/',
    subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}',
    onDelete: 'archive',
    nfsVersion: '3',
    mountOptions: 'soft,timeo=100',
    passthrough: 'true',
    'katacontainers.direct.volume/volumetype': 'directvol',
  });
  assert.equal(p.onDelete, 'archive');
  assert.equal(p.nfsVersion, '3');
});

test('unknown keys are refused, naming the key and the known ones', () => {
  assert.throws(
    () => parseNasParameters({ server: 'a', share: '/x', localPath: '/srv' }),
    invalid(/unknown key\(s\) localPath \(known: server, share, subDir, onDelete, nfsVersion, mountOptions, passthrough, katacontainers\.direct\.volume\/volumetype\)/),
  );
});

test('bad values are refused, naming the parameter', () => {
  assert.throws(() => parseNasParameters({ share: '/x' }), invalid(/server: is required/));
  assert.throws(() => parseNasParameters({ server: 'a' }), invalid(/share: is required/));
  assert.throws(() => parseNasParameters({ server: 'a', share: 'x' }), invalid(/share: must be an absolute path/));
  assert.throws(() => parseNasParameters({ server: 'a', share: '/x/../y' }), invalid(/share: must be a clean path/));
  assert.throws(() => parseNasParameters({ server: 'a b', share: '/x' }), invalid(/server: must be a host name/));
  assert.throws(() => parseNasParameters({ server: 'a', share: '/x', onDelete: 'purge' }), invalid(/onDelete/));
  assert.throws(() => parseNasParameters({ server: 'a', share: '/x', nfsVersion: '4.2' }), invalid(/nfsVersion/));
  assert.throws(() => parseNasParameters({ server: 'a', share: '/x', subDir: '../${pv.metadata.name}' }), invalid(/parameter subDir/));
  assert.throws(() => parseNasParameters({ server: 'a', share: '/x', subDir: '${foo}' }), invalid(/parameter subDir: unknown variable/));
  assert.throws(() => parseNasParameters({ server: 'a', share: '/x', mountOptions: 'bind' }), invalid(/mountOptions: "bind" is not allowed/));
  assert.throws(() => parseNasParameters({ server: 'a', share: '/x', passthrough: 'yes' }), invalid(/passthrough/));
});
