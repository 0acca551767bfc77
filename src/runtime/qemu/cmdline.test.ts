import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { buildQemuArgs, FORWARD_RELAY, optValue, parseVmSpec, type QemuLaunchPlan } from './cmdline.js';
import { TCG_ARGS } from './accel.js';
import type { VmSpec } from '../hypervisor.js';
import { isPassvolError } from '../../common/errors.js';

const spec: VmSpec = {
  name: 'sb1',
  kernel: '/img/vmlinux',
  initrd: '/img/initramfs.cpio',
  cmdline: 'console=ttyS0 loglevel=1',
  memoryMiB: 512,
  cpus: 2,
  agentDisk: '/img/agent.ext4',
  agentPort: { name: 'passvol.agent', socketPath: '/run/sb1/agent.sock' },
  stateDir: '/run/sb1',
};
const plan = (s: Partial<VmSpec> = {}, extra: Partial<QemuLaunchPlan> = {}): QemuLaunchPlan => ({
  spec: { ...spec, ...s },
  accelArgs: TCG_ARGS,
  firmware: '/usr/share/qemu/qboot.rom',
  qmpSocket: '/run/sb1/qmp.sock',
  consoleLog: '/run/sb1/console.log',
  pidFile: '/run/sb1/qemu.pid',
  virtiofsSockets: new Map(),
  ...extra,
});
/** The value after each occurrence of `flag`. */
const values = (args: string[], flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));

test('a plain VM: q35 with qboot, direct kernel boot, the agent disk first and read-only, the agent port', () => {
  const args = buildQemuArgs(plan());
  assert.deepEqual(values(args, '-machine'), ['q35,sata=off,smbus=off,usb=off,vmport=off,graphics=off']);
  assert.deepEqual(values(args, '-bios'), ['/usr/share/qemu/qboot.rom']);
  assert.deepEqual(values(args, '-accel'), ['tcg,thread=multi']);
  assert.deepEqual(values(args, '-cpu'), ['max']);
  assert.deepEqual(values(args, '-kernel'), ['/img/vmlinux']);
  assert.deepEqual(values(args, '-append'), ['console=ttyS0 loglevel=1']);
  assert.deepEqual(values(buildQemuArgs(plan({}, { accelKernelArgs: ['mitigations=off'] })), '-append'), ['console=ttyS0 loglevel=1 mitigations=off'], 'the acceleration adds its kernel arguments last');
  assert.ok(args.includes('-no-reboot') && args.includes('-nodefaults'));
  const [file, raw] = values(args, '-blockdev').map((j) => JSON.parse(j) as Record<string, unknown>);
  assert.deepEqual(file, { driver: 'file', filename: '/img/agent.ext4', 'node-name': 'agent-file', 'read-only': true });
  assert.equal(raw?.['read-only'], true);
  const devices = values(args, '-device');
  assert.equal(devices[0], 'virtio-blk-pci,id=agent-disk,drive=agent-disk,serial=passvol-agent,bus=pcie.0,addr=0x2');
  assert.ok(devices.includes('virtserialport,id=agent-port,bus=vser0.0,chardev=agent,name=passvol.agent'));
  assert.ok(values(args, '-chardev').includes('socket,id=agent,path=/run/sb1/agent.sock,server=on,wait=off'));
  assert.ok(values(args, '-chardev').includes('socket,id=qmp,path=/run/sb1/qmp.sock,server=on,wait=off'));
  assert.equal(devices.filter((d) => d.startsWith('pcie-root-port,')).length, 8);
  assert.equal(values(args, '-netdev').length, 0, 'no network unless asked');
  assert.equal(values(args, '-object').length, 0, 'no shared memory without virtio-fs');
});

test('virtio-fs brings a shared memfd backend; 9p a local fsdev', () => {
  const args = buildQemuArgs(
    plan(
      { shares: [{ kind: 'virtiofs', tag: 'rootfs', hostDir: '/b/rootfs' }, { kind: '9p', tag: 'data', hostDir: '/b/data' }] },
      { virtiofsSockets: new Map([['rootfs', '/run/sb1/virtiofs-rootfs.sock']]) },
    ),
  );
  assert.match(values(args, '-machine')[0] ?? '', /memory-backend=mem/);
  assert.deepEqual(values(args, '-object'), ['memory-backend-memfd,id=mem,size=512M,share=on']);
  const devices = values(args, '-device');
  assert.ok(devices.includes('vhost-user-fs-pci,id=share0,chardev=vfs0,tag=rootfs,queue-size=1024,bus=pcie.0'));
  assert.ok(devices.includes('virtio-9p-pci,id=share1,fsdev=fs1,mount_tag=data,bus=pcie.0'));
  assert.deepEqual(values(args, '-fsdev'), ['local,id=fs1,path=/b/data,security_model=none']);
  assert.ok(values(args, '-chardev').includes('socket,id=vfs0,path=/run/sb1/virtiofs-rootfs.sock'));
});

test('NFS forwards become restricted user networking with a relay per guest connection', () => {
  assert.ok(existsSync(FORWARD_RELAY.script), FORWARD_RELAY.script);
  const args = buildQemuArgs(plan({ nfsForwards: [{ guestAddress: '10.0.2.100', host: '127.0.0.1', ports: [2049, { guest: 20048, host: 30048 }] }] }));
  assert.deepEqual(values(args, '-netdev'), [
    `user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:2049-cmd:/usr/bin/perl ${FORWARD_RELAY.script} 127.0.0.1 2049 /run/sb1/relay-slots 32,guestfwd=tcp:10.0.2.100:20048-cmd:/usr/bin/perl ${FORWARD_RELAY.script} 127.0.0.1 30048 /run/sb1/relay-slots 32`,
  ]);
  assert.ok(values(args, '-device').some((d) => d.startsWith('virtio-net-pci,id=net0,netdev=n0')));
});

test('KVM args, SeaBIOS when no firmware is given, and a chosen number of hot-plug slots', () => {
  const args = buildQemuArgs(plan({ hotplugSlots: 2 }, { accelArgs: ['-accel', 'kvm', '-cpu', 'host'], firmware: undefined }));
  assert.deepEqual(values(args, '-bios'), []);
  assert.deepEqual(values(args, '-accel'), ['kvm']);
  assert.deepEqual(
    values(args, '-device').filter((d) => d.startsWith('pcie-root-port')),
    ['pcie-root-port,id=hp0,bus=pcie.0,chassis=1,slot=1,addr=0x10,io-reserve=0', 'pcie-root-port,id=hp1,bus=pcie.0,chassis=1,slot=2,addr=0x11,io-reserve=0'],
  );
});

test('commas in paths are escaped for QEMU option strings', () => {
  assert.equal(optValue('/a,b/c'), '/a,,b/c');
  const args = buildQemuArgs(plan({ agentPort: { name: 'passvol.agent', socketPath: '/run/x,y/agent.sock' } }));
  assert.ok(values(args, '-chardev').includes('socket,id=agent,path=/run/x,,y/agent.sock,server=on,wait=off'));
});

test('the spec is checked before it reaches an argv', () => {
  const bad = (s: Record<string, unknown>): void =>
    assert.throws(() => parseVmSpec({ ...spec, ...s }), (e: unknown) => isPassvolError(e) && e.code === 'PV_ERR_INVALID_ARGUMENT');
  bad({ kernel: 'relative/vmlinux' });
  bad({ shares: [{ kind: 'virtiofs', tag: 'a,b=c', hostDir: '/x' }] });
  bad({ shares: [{ kind: '9p', tag: 'same', hostDir: '/x' }, { kind: '9p', tag: 'same', hostDir: '/y' }] });
  bad({ nfsForwards: [{ guestAddress: '10.0.2.15', host: '127.0.0.1', ports: [2049] }] });
  bad({ nfsForwards: [{ guestAddress: '192.168.1.5', host: '127.0.0.1', ports: [2049] }] });
  bad({ memoryMiB: 16 });
  bad({ extra: true });
  assert.equal(parseVmSpec(spec).name, 'sb1');
});

test('a template VM: RAM in its file, shared; a VM generation id; no shares or network allowed', () => {
  const args = buildQemuArgs(plan({ memory: { kind: 'template', file: '/run/t/ram' } }));
  assert.deepEqual(values(args, '-object'), ['memory-backend-file,id=mem,size=512M,mem-path=/run/t/ram,share=on']);
  assert.match(values(args, '-machine')[0] ?? '', /memory-backend=mem/);
  assert.ok(values(args, '-device').includes('vmgenid,id=vmgenid0,guid=auto'));
  assert.ok(!args.includes('-incoming'));
  const share = { kind: 'virtiofs' as const, tag: 'rootfs', hostDir: '/srv/rootfs' };
  assert.throws(() => parseVmSpec({ ...spec, shares: [share], memory: { kind: 'template', file: '/run/t/ram' } }), /a template has no shares/);
  assert.throws(() => parseVmSpec({ ...spec, memory: { kind: 'template', file: '/run/t/ram; rm -rf /' } }), /absolute path of/, 'the path goes into a shell command');
});

test('a clone: its own copy of the RAM, the template devices, an incoming state, shares left for hot-plug', () => {
  const share = { kind: 'virtiofs' as const, tag: 'rootfs', hostDir: '/srv/rootfs' };
  const clone = { kind: 'clone' as const, file: '/run/t/ram', state: '/run/t/state' };
  const args = buildQemuArgs(plan({ memory: clone, shares: [share] }, { cloneRam: '/run/sb1/ram', virtiofsSockets: new Map([['rootfs', '/run/sb1/vfs.sock']]) }));
  assert.deepEqual(values(args, '-object'), ['memory-backend-file,id=mem,size=512M,mem-path=/run/sb1/ram,share=on'], 'never the template file itself');
  assert.deepEqual(values(args, '-incoming'), ['defer']);
  assert.ok(values(args, '-device').includes('vmgenid,id=vmgenid0,guid=auto'));
  assert.ok(!values(args, '-device').some((d) => d.startsWith('vhost-user-fs-pci')), 'the template had no share device');
  assert.deepEqual(values(args, '-device').filter((d) => d.startsWith('pcie-root-port')), values(buildQemuArgs(plan({ memory: { kind: 'template', file: '/x' } })), '-device').filter((d) => d.startsWith('pcie-root-port')));
  assert.throws(() => buildQemuArgs(plan({ memory: clone })), /needs its copy of the template RAM/);
  assert.throws(() => parseVmSpec({ ...spec, shares: [{ ...share, kind: '9p' }], memory: clone }), /virtio-fs only/);
  const nfs = [{ guestAddress: '10.0.2.100', host: '127.0.0.1', ports: [2049] }];
  assert.ok(!buildQemuArgs(plan({ memory: clone, nfsForwards: nfs }, { cloneRam: '/run/sb1/ram' })).includes('-netdev'), "a clone's network is hot-plugged");
  assert.throws(() => parseVmSpec({ ...spec, nfsForwards: nfs, memory: { kind: 'template', file: '/run/t/ram' } }), /a template has no network/);
});
