import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAccel, hasHardwareVirt, KVM_ARGS, TCG_ARGS } from './accel.js';
import { isPassvolError } from '../../common/errors.js';

const flags = (extra: string) => `processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc msr pae ${extra} sse4_2\n\n`;

test('vmx or svm in the flags line means hardware virtualization', () => {
  assert.equal(hasHardwareVirt(flags('svm')), true);
  assert.equal(hasHardwareVirt(flags('vmx')), true);
  assert.equal(hasHardwareVirt(flags('constant_tsc')), false);
  // A word containing "svm" elsewhere is not the flag.
  assert.equal(hasHardwareVirt('model name\t: svm-like cpu\nflags\t\t: fpu\n'), false);
});

test('a real KVM is used', () => {
  const d = decideAccel({ cpuinfo: flags('vmx'), kvmOpenable: true, modules: ['kvm', 'kvm_intel'] });
  assert.equal(d.accel, 'kvm');
  assert.deepEqual(d.args, KVM_ARGS);
  assert.deepEqual(d.kernelArgs, ['passvol.accel=kvm'], 'a real CPU speculates: the guest keeps its mitigations');
});

test('PVM, as on this workplace: /dev/kvm opens but kvm_pvm is loaded and there is no vmx/svm', () => {
  const d = decideAccel({ cpuinfo: flags('constant_tsc nonstop_tsc'), kvmOpenable: true, modules: ['kvm', 'kvm_pvm'] });
  assert.equal(d.accel, 'tcg');
  assert.deepEqual(d.args, TCG_ARGS);
  assert.deepEqual(d.kernelArgs, ['mitigations=off', 'passvol.accel=tcg'], 'nothing speculates under TCG');
  assert.match(d.reason ?? '', /vmx\/svm/);
  const withFlag = decideAccel({ cpuinfo: flags('svm'), kvmOpenable: true, modules: ['kvm', 'kvm_pvm'] });
  assert.equal(withFlag.accel, 'tcg');
  assert.match(withFlag.reason ?? '', /PVM/);
});

test('no /dev/kvm access falls back to TCG', () => {
  assert.equal(decideAccel({ cpuinfo: flags('vmx'), kvmOpenable: false, modules: [] }).accel, 'tcg');
});

test('asking for KVM where it is unusable is an error; asking for TCG always works', () => {
  assert.throws(
    () => decideAccel({ cpuinfo: flags(''), kvmOpenable: true, modules: ['kvm_pvm'] }, 'kvm'),
    (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_FAILED_PRECONDITION',
  );
  assert.equal(decideAccel({ cpuinfo: flags('vmx'), kvmOpenable: true, modules: [] }, 'tcg').accel, 'tcg');
});
