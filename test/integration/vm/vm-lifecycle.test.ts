// A VM from the guest image under TCG (or KVM where it is real): boot to a pinging agent, hot-plug a
// loop-backed raw disk with a serial, grow it, unplug it, stop, and leave no process or socket behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { agentRequest, bootVm, loopDisk, processAlive, tempDir, vmSkipReason, waitFor } from '../../helpers/vm.js';
import { queryBlockNodes, queryPci, queryStatus } from '../../../src/runtime/qemu/qmp-commands.js';

const skip = vmSkipReason();
const MiB = 1024 * 1024;
const VIRTIO_BLK = 0x1001;
const VIRTIO_BLK_MODERN = 0x1042;

interface GuestDisk {
  name: string;
  serial: string;
  bytes: number;
}
const guestDisks = async (socket: string): Promise<GuestDisk[]> => (await agentRequest(socket, 'disks')).disks as GuestDisk[];
/** The placeholder agent lists disks; another agent (PASSVOL_VM_TEST_AGENT) may not: then QMP's view is all we check. */
const listsDisks = async (socket: string): Promise<boolean> => guestDisks(socket).then(() => true, () => false);

test('boot, ping, hot-plug, resize, unplug, stop', { skip, timeout: 240_000 }, async (t) => {
  const { vm, stateDir, spec, bootToAgentMs } = await bootVm(t, { name: 'lifecycle' });
  console.log(`# boot to agent ready: ${bootToAgentMs} ms (${vm.accel})`);
  assert.equal((await queryStatus(vm.qmp)).running, true);
  const socket = spec.agentPort.socketPath;
  const inGuest = await listsDisks(socket);
  if (inGuest) assert.deepEqual((await guestDisks(socket)).map((d) => d.serial), ['passvol-agent'], 'the agent disk is the only disk, and first');
  const seenInGuest = async (serial: string, bytes?: number): Promise<GuestDisk | true | undefined> => {
    if (!inGuest) return true;
    const d = (await guestDisks(socket)).find((x) => x.serial === serial);
    return d && (bytes === undefined || d.bytes === bytes) ? d : undefined;
  };

  const disk = await loopDisk(t, 64 * MiB);
  const t0 = Date.now();
  const plugged = await vm.hotplugBlock({ id: 'vol1', path: disk.device, serial: 'pv-vol1', readonly: false });
  assert.deepEqual(plugged.backend, { cacheDirect: true, aio: 'native', iothread: false });
  const seen = await waitFor(() => seenInGuest('pv-vol1', 64 * MiB), 15_000, 'the guest to see pv-vol1');
  if (seen.value !== true) console.log(`# hot-plug to visible in the guest: ${Date.now() - t0} ms (${seen.value.name})`);
  // QEMU's own view: a virtio-blk function behind the chosen root port, and the raw node on the loop device.
  const pci = await queryPci(vm.qmp);
  const dev = pci.find((d) => d.qdev_id === 'vol1');
  assert.ok(dev, 'vol1 is on the PCI bus');
  assert.equal(dev.parent, plugged.bus);
  assert.ok([VIRTIO_BLK, VIRTIO_BLK_MODERN].includes(dev.id.device));
  const node = (await queryBlockNodes(vm.qmp)).find((n) => n['node-name'] === 'vol1-file');
  assert.equal(node?.file, disk.device);
  assert.equal(node?.drv, 'host_device');

  // Online grow: the device grows on the host first, then QEMU tells the guest.
  disk.grow(128 * MiB);
  const t1 = Date.now();
  await vm.resizeBlock('vol1', 128 * MiB);
  await waitFor(() => seenInGuest('pv-vol1', 128 * MiB), 15_000, 'the new size');
  if (inGuest) console.log(`# resize to visible in the guest: ${Date.now() - t1} ms`);
  assert.equal((await queryBlockNodes(vm.qmp)).find((n) => n['node-name'] === 'vol1-fmt')?.image['virtual-size'], 128 * MiB);
  await assert.rejects(vm.resizeBlock('vol1', 256 * MiB), /grow it on the host first/);

  const t2 = Date.now();
  await vm.unplugBlock('vol1');
  console.log(`# unplug (device_del to DEVICE_DELETED): ${Date.now() - t2} ms`);
  assert.equal((await queryPci(vm.qmp)).find((d) => d.qdev_id === 'vol1'), undefined);
  assert.equal((await queryBlockNodes(vm.qmp)).find((n) => n['node-name'].startsWith('vol1-')), undefined);
  if (inGuest) assert.equal((await guestDisks(socket)).find((d) => d.serial === 'pv-vol1'), undefined);
  // The slot is free again: plug the image file itself, read-only, with io_uring in its own iothread.
  const second = await vm.hotplugBlock({ id: 'vol2', path: disk.file, serial: 'pv-vol2', readonly: true, backend: { aio: 'io_uring', iothread: true } });
  console.log(`# second disk backend: ${JSON.stringify(second.backend)}`);
  assert.equal(second.backend.iothread, true);
  assert.equal((await queryBlockNodes(vm.qmp)).find((n) => n['node-name'] === 'vol2-file')?.drv, 'file');
  await waitFor(() => seenInGuest('pv-vol2'), 15_000, 'pv-vol2');
  await vm.unplugBlock('vol2');
  await assert.rejects(vm.unplugBlock('vol2'), /no hot-plugged disk/);

  const pid = vm.pid;
  await vm.stop();
  assert.equal(processAlive(pid), false, 'qemu is gone');
  assert.deepEqual((await vm.wait()).code, 0);
  assert.deepEqual(readdirSync(stateDir).filter((f) => f.endsWith('.sock') || f.endsWith('.pid')), []);
  await vm.stop(); // idempotent
});

test('virtio-fs and 9p shares and an NFS forward; stop ends virtiofsd too', { skip, timeout: 240_000 }, async (t) => {
  const shareRoot = await tempDir(t, 'pv-share-');
  await mkdir(join(shareRoot, 'fs'));
  await mkdir(join(shareRoot, 'p9'));
  // The forward's relay connects when the guest does; the test's server answers it.
  const server = createServer((s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const { vm, stateDir } = await bootVm(t, {
      name: 'shares',
      shares: [
        { kind: 'virtiofs', tag: 'rootfs', hostDir: join(shareRoot, 'fs') },
        { kind: '9p', tag: 'p9share', hostDir: join(shareRoot, 'p9') },
      ],
      nfsForwards: [{ guestAddress: '10.0.2.100', host: '127.0.0.1', ports: [{ guest: 2049, host: port }] }],
    });
    const pci = await queryPci(vm.qmp);
    assert.ok(pci.some((d) => d.qdev_id === 'share0'), 'vhost-user-fs-pci present');
    assert.ok(pci.some((d) => d.qdev_id === 'share1'), 'virtio-9p-pci present');
    assert.ok(pci.some((d) => d.qdev_id === 'net0'), 'virtio-net-pci present');
    const vfsSocket = join(stateDir, 'virtiofs-rootfs.sock');
    assert.ok(existsSync(vfsSocket));
    await vm.stop();
    assert.equal(existsSync(vfsSocket), false, 'virtiofsd socket removed');
    assert.deepEqual(readdirSync(stateDir).filter((f) => f.endsWith('.sock') || f.endsWith('.pid')), []);
    assert.equal(existsSync(`/run/virtiofsd/${vfsSocket.replaceAll('/', '.')}.pid`), false, 'no virtiofsd lock file left');
  } finally {
    server.close();
  }
});
