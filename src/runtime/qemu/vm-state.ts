// Saving a paused VM's device state to a file, and starting another QEMU from it: the QMP side of VM
// templates. The RAM is not in the stream: template and clone both map one memory file, and the
// x-ignore-shared capability (made for this) leaves that file's RAM out. So a save writes ~0.2 MB and a
// restore reads it in tens of milliseconds, however much RAM the guest has.
import { z } from 'zod';
import { invalidArgument, PassvolError } from '../../common/errors.js';
import type { QmpChannel } from '../hypervisor.js';

const Empty = z.object({}).passthrough();
/** State paths go into a shell command (exec:cat PATH), so nothing a shell would interpret. */
export const STATE_PATH = /^\/[A-Za-z0-9._/-]+$/;

function checked(file: string): string {
  if (!STATE_PATH.test(file)) throw invalidArgument(`VM state path ${JSON.stringify(file)} must be an absolute path of [A-Za-z0-9._/-]`);
  return file;
}
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

/** Pauses the VM and writes its device state to `file`. */
export async function saveState(qmp: QmpChannel, file: string, timeoutMs = 30_000): Promise<void> {
  const path = checked(file);
  Empty.parse(await qmp.execute('stop'));
  await ignoreSharedRam(qmp);
  Empty.parse(await qmp.execute('migrate', { uri: `exec:cat > ${path}` }));
  await migrationDone(qmp, 'saving the VM state', timeoutMs);
}

/** Loads the device state into a QEMU started with `-incoming defer`, then lets the guest run. */
export async function restoreState(qmp: QmpChannel, file: string, timeoutMs = 30_000): Promise<void> {
  const path = checked(file);
  await ignoreSharedRam(qmp);
  Empty.parse(await qmp.execute('migrate-incoming', { uri: `exec:cat ${path}` }));
  await migrationDone(qmp, 'restoring the VM state', timeoutMs);
  Empty.parse(await qmp.execute('cont'));
}
