// The agent's V8 startup snapshots (see src/agent/snapshot-main.ts): its CommonJS bundle run once under
// `node --build-snapshot`, by the very node binary the guest runs. V8 (as Node 20 checks it) loads a
// snapshot only with the V8 flags and the CPU features it was made with, and the guest's CPU is not
// always the host's:
// - under KVM the guest gets the host's CPU (`-cpu host`), so that snapshot is made natively;
// - under TCG it gets QEMU's model (TCG_CPU_MODEL), so that snapshot is made under qemu-user emulating the
//   same model, which shows node the same CPUID the guest will (measured: the same V8 tag).
// Neither passes V8 flags, as the guest passes none. A guest whose CPU still differs (KVM on another host
// model) falls back to the plain bundle; see init-script.ts.
import { constants } from 'node:fs';
import { access, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Exec } from '../common/exec.js';
import { TCG_CPU_MODEL, guestAgentSnapshot } from './guest-layout.js';

/** qemu-user for x86-64 programs, from Debian's qemu-user or qemu-user-static. */
const QEMU_USER_CANDIDATES = ['/usr/bin/qemu-x86_64', '/usr/bin/qemu-x86_64-static'];

export async function findQemuUser(): Promise<string | undefined> {
  for (const p of QEMU_USER_CANDIDATES) if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  return undefined;
}

export interface SnapshotPlan {
  /** Guest path of the snapshot, from guestAgentSnapshot(). */
  guestPath: string;
  /** The command that runs node for it: node itself, or qemu-user and node. */
  runner: readonly string[];
}

/** The snapshots to make: KVM's always, TCG's when qemu-user is there (`qemuUser` is its path, or undefined). */
export function snapshotPlans(node: string, qemuUser: string | undefined): SnapshotPlan[] {
  const plans: SnapshotPlan[] = [{ guestPath: guestAgentSnapshot('kvm'), runner: [node] }];
  if (qemuUser) plans.push({ guestPath: guestAgentSnapshot('tcg'), runner: [qemuUser, '-cpu', TCG_CPU_MODEL, node] });
  return plans;
}

export async function buildAgentSnapshot(exec: Exec, o: { runner: readonly string[]; bundle: Buffer; workDir: string; blobPath: string }): Promise<void> {
  const script = join(o.workDir, 'agent-snapshot.cjs');
  await writeFile(script, o.bundle);
  await mkdir(dirname(o.blobPath), { recursive: true });
  try {
    // Not even the caller's NODE_OPTIONS: a test runner's loader would end up in the heap.
    await exec.run('env', ['-u', 'NODE_OPTIONS', ...o.runner, '--snapshot-blob', o.blobPath, '--build-snapshot', script], { timeoutMs: 300_000 });
  } finally {
    await rm(script, { force: true });
  }
  await chmod(o.blobPath, 0o644);
}
