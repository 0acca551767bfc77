// Saving a paused VM's device state to a file, and starting another QEMU from it: the QMP side of VM
// templates. The RAM is not in the stream: template and clone both map one memory file, and the
// x-ignore-shared capability (made for this) leaves that file's RAM out. So a save writes ~0.2 MB and a
// restore reads it in tens of milliseconds, however much RAM the guest has.
import { z } from 'zod';
import { PassvolError } from '../../common/errors.js';
import type { QmpChannel } from '../hypervisor.js';

const Empty = z.object({}).passthrough();
const Migration = z.object({ status: z.string().optional(), 'error-desc': z.string().optional() }).passthrough();
const POLL_MS = 10;

async function ignoreSharedRam(qmp: QmpChannel): Promise<void> {
  Empty.parse(await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] }));
}

async function migrationDone(qmp: QmpChannel, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = Migration.parse(await qmp.execute('query-migrate'));
    if (m.status === 'completed') return;
    if (m.status === 'failed' || m.status === 'cancelled') throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `${what} ${m.status}${m['error-desc'] ? `: ${m['error-desc']}` : ''}`);
    if (Date.now() > deadline) throw new PassvolError('PV_ERR_TIMEOUT', `${what} did not complete within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Pauses the VM and writes its device state to `file` (a path checked by cmdline.ts's StatePath). */
export async function saveState(qmp: QmpChannel, file: string, timeoutMs = 30_000): Promise<void> {
  Empty.parse(await qmp.execute('stop'));
  await ignoreSharedRam(qmp);
  Empty.parse(await qmp.execute('migrate', { uri: `exec:cat > ${file}` }));
  await migrationDone(qmp, 'saving the VM state', timeoutMs);
}

/** Loads the device state into a QEMU started with `-incoming defer`, then lets the guest run. */
export async function restoreState(qmp: QmpChannel, file: string, timeoutMs = 30_000): Promise<void> {
  await ignoreSharedRam(qmp);
  Empty.parse(await qmp.execute('migrate-incoming', { uri: `exec:cat ${file}` }));
  await migrationDone(qmp, 'restoring the VM state', timeoutMs);
  Empty.parse(await qmp.execute('cont'));
}
