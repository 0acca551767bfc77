// The guest's network interfaces as the kernel lists them in /sys/class/net: NICs are hot-plugged and
// named in probe order, so the agent finds each by the MAC address the runtime gave it.
import { readdir, readFile } from 'node:fs/promises';
import { AgentError } from '../protocol/index.js';

const POLL_MS = 50;

/** The interface whose MAC address is `mac`, if the kernel shows one yet. */
export async function interfaceWithMac(netDir: string, mac: string): Promise<string | undefined> {
  for (const name of await readdir(netDir).catch(() => [] as string[])) {
    const address = await readFile(`${netDir}/${name}/address`, 'utf8').catch(() => '');
    if (address.trim().toLowerCase() === mac.toLowerCase()) return name;
  }
  return undefined;
}

/** Waits up to `waitMs` for the NIC with `mac` to appear; NOT_FOUND after that. */
export async function waitForInterface(netDir: string, mac: string, waitMs: number): Promise<string> {
  const deadline = performance.now() + waitMs;
  let nic: string | undefined;
  while (!(nic = await interfaceWithMac(netDir, mac))) {
    if (performance.now() >= deadline) throw new AgentError('NOT_FOUND', `no network interface with MAC ${mac} after ${waitMs} ms: was the NIC hot-plugged?`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return nic;
}
