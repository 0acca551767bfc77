// KVM or TCG. /dev/kvm alone proves nothing: on PVM hosts (the kvm_pvm module: nested virtualization
// without VMX/SVM) it opens fine but only a PVM-enabled guest kernel boots, and a stock Debian kernel
// hangs. So KVM is used only with vmx/svm in /proc/cpuinfo, an openable /dev/kvm, and no kvm_pvm module;
// otherwise TCG, said once in the log.
import { constants } from 'node:fs';
import { open, readFile, readdir } from 'node:fs/promises';
import { failedPrecondition } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { Accel } from '../hypervisor.js';
import { GUEST_ACCEL_ARG, TCG_CPU_MODEL } from '../../protocol/index.js';

export interface AccelFacts {
  cpuinfo: string;
  kvmOpenable: boolean;
  /** Loaded kernel modules (names in /sys/module). */
  modules: readonly string[];
}

export interface AccelDecision {
  accel: Accel;
  /** Why KVM is not used, when it is not. */
  reason?: string;
  /** QEMU arguments for it. */
  args: string[];
  /** Guest kernel arguments it calls for. */
  kernelArgs: string[];
}

export const KVM_ARGS = ['-accel', 'kvm', '-cpu', 'host'];
export const TCG_ARGS = ['-accel', 'tcg,thread=multi', '-cpu', TCG_CPU_MODEL];
/**
 * TCG executes nothing speculatively, so the guest's Spectre/Meltdown mitigations guard against nothing
 * there, while page-table isolation flushes the emulated TLB on every system call: a large share of the
 * guest's time in file-system-heavy work. Under KVM the guest keeps its mitigations. Both name the
 * acceleration for the guest's init, which picks the agent's startup snapshot by it.
 */
export const TCG_KERNEL_ARGS = ['mitigations=off', `${GUEST_ACCEL_ARG}=tcg`];
export const KVM_KERNEL_ARGS = [`${GUEST_ACCEL_ARG}=kvm`];

export function hasHardwareVirt(cpuinfo: string): boolean {
  return cpuinfo.split('\n').some((line) => /^flags\s*:/.test(line) && /\s(vmx|svm)(\s|$)/.test(line));
}

export function decideAccel(facts: AccelFacts, wanted: 'auto' | Accel = 'auto'): AccelDecision {
  if (wanted === 'tcg') return { accel: 'tcg', reason: 'TCG was asked for', args: TCG_ARGS, kernelArgs: TCG_KERNEL_ARGS };
  const why = !hasHardwareVirt(facts.cpuinfo)
    ? 'the CPU shows no vmx/svm flag'
    : !facts.kvmOpenable
      ? '/dev/kvm cannot be opened'
      : facts.modules.includes('kvm_pvm')
        ? '/dev/kvm is PVM (kvm_pvm), which boots only PVM-enabled guest kernels'
        : undefined;
  if (!why) return { accel: 'kvm', args: KVM_ARGS, kernelArgs: KVM_KERNEL_ARGS };
  if (wanted === 'kvm') throw failedPrecondition(`KVM was asked for but is not usable here: ${why}`);
  return { accel: 'tcg', reason: why, args: TCG_ARGS, kernelArgs: TCG_KERNEL_ARGS };
}

export async function probeAccelFacts(): Promise<AccelFacts> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  let kvmOpenable = false;
  try {
    const fh = await open('/dev/kvm', constants.O_RDWR);
    await fh.close();
    kvmOpenable = true;
  } catch {
    kvmOpenable = false;
  }
  const modules = await readdir('/sys/module').catch(() => [] as string[]);
  return { cpuinfo, kvmOpenable, modules };
}

let noticeGiven = false;

/** Decides once per call; logs the TCG notice only the first time in this process. */
export async function detectAccel(wanted: 'auto' | Accel, log: Logger, probe: () => Promise<AccelFacts> = probeAccelFacts): Promise<AccelDecision> {
  const decision = decideAccel(await probe(), wanted);
  if (decision.accel === 'tcg' && !noticeGiven) {
    noticeGiven = true;
    log.warn({ reason: decision.reason }, `KVM is not usable (${decision.reason}): guests run under TCG emulation, several times slower`);
  }
  return decision;
}
