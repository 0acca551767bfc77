import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilityMask, capabilityMasks, capabilityNumber } from './capabilities.js';

// containerd's default set for a container, as CRI gives it: runc's CapBnd for such a container reads a80425fb.
const CONTAINERD_DEFAULT = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

test("names become the kernel's numbers and caps-exec's hexadecimal masks", () => {
  assert.equal(capabilityNumber('CAP_CHOWN'), 0);
  assert.equal(capabilityNumber('CAP_SYS_ADMIN'), 21);
  assert.equal(capabilityNumber('net_admin'), undefined, 'names are exact, as runc takes them');
  assert.equal(capabilityNumber('CAP_CHECKPOINT_RESTORE'), 40);
  assert.deepEqual(capabilityMask(CONTAINERD_DEFAULT), { mask: 'a80425fb', unknown: [] });
  assert.deepEqual(capabilityMask([]), { mask: '0', unknown: [] });
  assert.deepEqual(capabilityMask(['CAP_CHOWN', 'CAP_FROM_THE_FUTURE']), { mask: '1', unknown: ['CAP_FROM_THE_FUTURE'] });
  assert.deepEqual(capabilityMasks({ bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: ['CAP_NOPE'] }), { masks: ['20', '20', '20', '0', '0'], unknown: ['CAP_NOPE'], narrowed: [] });
  // What capset would refuse is narrowed: effective within permitted, ambient within permitted and inheritable.
  assert.deepEqual(capabilityMasks({ bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL'], inheritable: [], ambient: ['CAP_KILL'] }), { masks: ['21', '20', '20', '0', '0'], unknown: [], narrowed: ['effective', 'ambient'] });
});
