import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AgentContext } from '../context.js';
import { PathMapper } from '../guest-paths.js';
import { guestNetwork, SetupNetworkArgs } from '../../protocol/index.js';
import { setupNetwork } from './setup-network.js';

function contextWith(run: (args: readonly string[]) => void): { ctx: AgentContext; root: string; calls: string[][] } {
  const root = mkdtempSync(join(tmpdir(), 'passvol-net-op-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const calls: string[][] = [];
  const ctx = {
    log: pino({ level: 'silent' }),
    paths: new PathMapper(root),
    run: async (cmd: string, args: readonly string[]) => {
      calls.push([cmd, ...args]);
      run(args);
      return { stdout: '', stderr: '' };
    },
  } as unknown as AgentContext;
  return { ctx, root, calls };
}

/** A NIC as the kernel shows it: /sys/class/net/NAME/address. */
function addNic(root: string, name: string, mac: string): void {
  mkdirSync(join(root, 'sys/class/net', name), { recursive: true });
  writeFileSync(join(root, 'sys/class/net', name, 'address'), `${mac}\n`);
}

test('the hot-plugged NIC is waited for, then given the guest address and brought up; an address already there is fine', async () => {
  const { ctx, root, calls } = contextWith((args) => {
    if (args[0] === 'addr') throw new Error('ip: RTNETLINK answers: File exists');
  });
  setTimeout(() => addNic(root, 'eth0', '52:54:00:70:76:01'), 150);
  assert.deepEqual(await setupNetwork(SetupNetworkArgs.parse({ waitMs: 5000 }), ctx), { interface: 'eth0', address: '10.0.2.15/24' });
  assert.deepEqual(calls, [
    ['ip', 'addr', 'add', '10.0.2.15/24', 'dev', 'eth0'],
    ['ip', 'link', 'set', 'eth0', 'up'],
  ]);
});

test("a later network's NIC is found by its MAC, whatever the kernel named it", async () => {
  const { ctx, root, calls } = contextWith(() => undefined);
  addNic(root, 'lo', '00:00:00:00:00:00');
  addNic(root, 'eth0', guestNetwork(0).mac);
  addNic(root, 'eth1', guestNetwork(2).mac.toUpperCase());
  const net = guestNetwork(2);
  assert.deepEqual(await setupNetwork(SetupNetworkArgs.parse({ waitMs: 1000, mac: net.mac, address: net.address }), ctx), { interface: 'eth1', address: '10.0.4.15/24' });
  assert.deepEqual(calls, [
    ['ip', 'addr', 'add', '10.0.4.15/24', 'dev', 'eth1'],
    ['ip', 'link', 'set', 'eth1', 'up'],
  ]);
});

test('no NIC with that MAC within the wait: NOT_FOUND, and nothing run', async () => {
  const { ctx, root, calls } = contextWith(() => undefined);
  addNic(root, 'eth0', guestNetwork(0).mac);
  await assert.rejects(setupNetwork(SetupNetworkArgs.parse({ waitMs: 100, mac: guestNetwork(1).mac, address: guestNetwork(1).address }), ctx), (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && /no network interface with MAC 52:54:00:70:76:02 after 100 ms/.test(e.message));
  assert.deepEqual(calls, []);
});

test('a MAC or an address outside what the runtime hands out is refused before anything runs', () => {
  assert.throws(() => SetupNetworkArgs.parse({ mac: 'aa:bb:cc:dd:ee:ff' }), /52:54:00/);
  assert.throws(() => SetupNetworkArgs.parse({ address: '192.168.1.15/24' }), /10\.0\.N\.15/);
  assert.throws(() => SetupNetworkArgs.parse({ address: '10.0.3.15/24; reboot' }), /10\.0\.N\.15/);
  assert.throws(() => SetupNetworkArgs.parse({ address: '10.0.999.15/24' }), /10\.0\.N\.15/);
  // Network 1's address with network 0's MAC: a mix-up, refused.
  assert.throws(() => SetupNetworkArgs.parse({ address: guestNetwork(1).address }), /one guest network/);
});
