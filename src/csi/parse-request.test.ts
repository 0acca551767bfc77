import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { isPassvolError } from '../common/errors.js';
import { capabilityShape, parseRequest } from './parse-request.js';

const Req = z.object({ volume_capability: capabilityShape });
const withGroup = (g: string) => ({ volume_capability: { mount: { fs_type: 'ext4', volume_mount_group: g }, access_mode: { mode: 'SINGLE_NODE_WRITER' } } });

test('volume_mount_group is a decimal gid or nothing', () => {
  for (const g of ['', '0', '2000', '4294967294']) assert.equal(parseRequest(Req, withGroup(g)).volume_capability.mount?.volume_mount_group, g);
  for (const g of ['wheel', '-1', '4294967295', '1e3', ' 12', '0x10', '99999999999']) {
    assert.throws(
      () => parseRequest(Req, withGroup(g)),
      (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT' && e.message.includes(`volume_capability.mount.volume_mount_group: must be a decimal group id from 0 to 4294967294`) && e.message.includes(`"${g}"`),
      g,
    );
  }
});
