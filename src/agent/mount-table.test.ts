import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountInfo } from './mount-table.js';

test('parses mountinfo, optional fields and octal escapes included', () => {
  const text = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '80 22 7:3 / /run/passvol/my\\040vol rw,nosuid,nodev master:3 - xfs /dev/loop3 rw,attr2',
    '81 22 0:55 / /run/passvol/nas rw - nfs4 10.0.2.100:/export rw,vers=4.1',
    '',
  ].join('\n');
  const entries = parseMountInfo(text);
  assert.equal(entries.length, 3);
  assert.deepEqual(entries[1], { majMin: '7:3', mountPoint: '/run/passvol/my vol', options: 'rw,nosuid,nodev', fstype: 'xfs', source: '/dev/loop3' });
  assert.equal(entries[2]?.source, '10.0.2.100:/export');
});
