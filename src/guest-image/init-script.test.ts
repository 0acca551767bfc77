import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_DISK_MODULES, AGENT_MOUNT, GUEST_MAC, GUEST_NETWORK_ADDRESS } from './guest-layout.js';
import { renderInitScript } from './init-script.js';

test('/init mounts the API filesystems, finds the agent disk by serial, and respawns the agent', () => {
  const s = renderInitScript();
  assert.ok(s.startsWith('#!/bin/sh\n'));
  assert.match(s, /mount -t devtmpfs/);
  assert.match(s, /load_modules boot\n/);
  // The module groups load in the background, reniced (their order is tested below by running it).
  assert.match(s, /\nsh -c 'load\(\) [^']*' &\nrenice -n 10 -p \$! /);
  assert.match(s, /= "passvol-agent" \]/);
  assert.match(s, /mount -t ext4 -o ro,nosuid,nodev "\$dev" \/passvol/);
  assert.match(s, /passvol\.accel=tcg\|passvol\.accel=kvm\) accel=/);
  assert.match(s, /\nsnapshot=\/agent\/agent-\$accel\.blob\n/);
  assert.match(s, /while :; do[\s\S]*\/usr\/bin\/node --snapshot-blob "\$snapshot" --; else \/usr\/bin\/node \/agent\/agent\.mjs; fi[\s\S]*done/);
  assert.throws(() => renderInitScript({ agentSerial: 'bad serial; rm -rf /' }));
});

test('/init is valid shell', () => {
  execFileSync('sh', ['-n'], { input: renderInitScript() });
});

/** Runs init's background module loader with its paths moved into `dir`, insmod and ip faked; returns what they did. */
function runLoader(cmdline: string): { calls: string[]; networkMarked: boolean; allMarked: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'pv-init-'));
  try {
    const script = /\nsh -c '([^']*)' &\nrenice/.exec(renderInitScript())?.[1];
    assert.ok(script, 'the background loader');
    const orders: Record<string, string[]> = {
      virtiofs: ['fuse.ko', 'virtiofs.ko'],
      '9p': ['netfs.ko', 'fscache.ko', '9pnet.ko', '9pnet_virtio.ko', '9p.ko'],
      nfs: ['netfs.ko', 'fscache.ko', 'virtio_net.ko', 'sunrpc.ko', 'nfs.ko', 'nfsv4.ko'],
      xfs: ['libcrc32c.ko', 'xfs.ko'],
    };
    for (const d of ['modules', 'sys-module', 'marks', 'bin', 'net/eth0', 'net/eth1']) mkdirSync(join(dir, d), { recursive: true });
    // A pod NIC hot-plugged before the NFS group loaded took eth0; network 0's NIC is eth1.
    writeFileSync(join(dir, 'net/eth0/address'), '0a:58:0a:e7:00:05\n');
    writeFileSync(join(dir, 'net/eth1/address'), `${GUEST_MAC}\n`);
    for (const [group, files] of Object.entries(orders)) writeFileSync(join(dir, 'modules', `${group}.order`), files.join('\n') + '\n');
    writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
    const log = join(dir, 'calls');
    // insmod records the module and makes it show in /sys/module, as the kernel does; ip records itself.
    writeFileSync(join(dir, 'bin/insmod'), `#!/bin/sh\nm=$(basename "$1" .ko); echo "insmod $m" >> ${log}; mkdir -p ${dir}/sys-module/$(echo "$m" | tr - _)\n`);
    writeFileSync(join(dir, 'bin/ip'), `#!/bin/sh\necho "ip $*" >> ${log}\n`);
    for (const f of ['insmod', 'ip']) chmodSync(join(dir, 'bin', f), 0o755);
    const moved = script
      .replaceAll(`${AGENT_MOUNT}${AGENT_DISK_MODULES}/`, `${dir}/modules/`)
      .replaceAll('/sys/module/', `${dir}/sys-module/`)
      .replaceAll('/proc/cmdline', `${dir}/cmdline`)
      .replaceAll('/sys/class/net/', `${dir}/net/`)
      .replaceAll('/run/passvol-init/', `${dir}/marks/`);
    execFileSync('sh', ['-c', moved], { env: { PATH: `${dir}/bin:${process.env.PATH ?? ''}` } });
    return { calls: readFileSync(log, 'utf8').trim().split('\n'), networkMarked: existsSync(join(dir, 'marks/network-ready')), allMarked: existsSync(join(dir, 'marks/modules-ready')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the background loader loads the groups the runtime names first, each module once, then the rest', () => {
  const r = runLoader('console=ttyS0 passvol.modules=9p,nfs panic=1');
  const insmods = r.calls.filter((c) => c.startsWith('insmod ')).map((c) => c.slice(7));
  assert.deepEqual(insmods, ['netfs', 'fscache', '9pnet', '9pnet_virtio', '9p', 'virtio_net', 'sunrpc', 'nfs', 'nfsv4', 'fuse', 'virtiofs', 'libcrc32c', 'xfs']);
  // The network comes up right after the NFS group, before the groups nobody asked for.
  assert.ok(r.calls.indexOf('ip link set lo up') === r.calls.indexOf('insmod nfsv4') + 1);
  assert.deepEqual(r.calls.filter((c) => c.startsWith('ip addr')), [`ip addr add ${GUEST_NETWORK_ADDRESS} dev eth1`], "network 0's address goes to the NIC with its MAC, whatever its name");
  assert.ok(r.networkMarked && r.allMarked);
});

test('without the argument, or with unknown groups, the loader uses its default order', () => {
  const plain = runLoader('console=ttyS0').calls.filter((c) => c.startsWith('insmod ')).map((c) => c.slice(7));
  assert.deepEqual(plain, ['fuse', 'virtiofs', 'netfs', 'fscache', 'virtio_net', 'sunrpc', 'nfs', 'nfsv4', 'libcrc32c', 'xfs', '9pnet', '9pnet_virtio', '9p']);
  const odd = runLoader('passvol.modules=../../etc/x,xfs').calls.filter((c) => c.startsWith('insmod ')).map((c) => c.slice(7));
  assert.deepEqual(odd.slice(0, 2), ['libcrc32c', 'xfs']);
});
