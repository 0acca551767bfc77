// The demo's sandbox half: a container in a passvol VM sandbox using the three volumes, the seeds' check
// inside, a second container of the pod sharing the disk, an online resize, stats, a live snapshot restored
// and read, and data read back by a second sandbox started from a VM template.
import { join } from 'node:path';
import { mkdirSync, copyFileSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { provisionDisk, releaseVolume } from './demo-volumes.js';
import type { DemoReport } from './demo-report.js';
import type { DemoVolumes } from './csi-walkthrough.js';
import type { DemoNode } from './demo-environment.js';
import { readBundle } from '../runtime/oci/bundle.js';
import { Sandbox, type SandboxDeps } from '../runtime/sandbox/sandbox.js';

/** A busybox bundle binding each host path at its destination (the three volumes unless told otherwise). */
function bundle(dir: string, args: string[], v: DemoVolumes, binds: [string, string][] = [['/disk', v.disk.target], ['/nas', v.nas.target], ['/host', v.host.target]]): string {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', ...binds.map(([destination]) => destination.slice(1))]) mkdirSync(join(rootfs, d), { recursive: true });
  if (!existsSync(join(rootfs, 'bin/busybox'))) {
    copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
    for (const a of ['sh', 'mount', 'grep', 'cat', 'echo', 'df', 'tail', 'sleep', 'sync']) symlinkSync('busybox', join(rootfs, 'bin', a));
  }
  const m = (destination: string, source: string) => ({ destination, type: 'bind', source, options: ['rbind', 'rw'] });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    ociVersion: '1.0.2', process: { args, env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } }, root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, ...binds.map(([destination, source]) => m(destination, source))],
  }));
  return dir;
}

/** A pod's second container joins the sandbox and binds the same disk: one hot-plug, one guest mount. */
async function sidecarWalkthrough(node: DemoNode, v: DemoVolumes, report: DemoReport, sb: Sandbox): Promise<void> {
  report.step("A pod's second container joins the same sandbox (create --sandbox): its rootfs a hot-plugged virtio-fs share, the disk bound in as the first container has it");
  await sb.addContainer('sidecar', await readBundle(bundle(join(node.work, 'bundle-sidecar'), ['/bin/sleep', '600'], v, [['/shared', v.disk.target]])));
  try {
    await sb.start(() => undefined, 'sidecar');
    const deviceAt = async (dir: string, container?: string) => (await sb.exec(['/bin/sh', '-c', `mount | grep " ${dir} "`], container ? { container } : {})).stdout.split(' ')[0] ?? '';
    report.check('the second container has the same guest disk: mounted once for both', await deviceAt('/disk'), await deviceAt('/shared', 'sidecar'));
    report.check('it reads what the first container wrote', 'disk-data', (await sb.exec(['/bin/cat', '/shared/demo.txt'], { container: 'sidecar' })).stdout.trim());
  } finally {
    await sb.removeContainer('sidecar');
  }
  report.check('removing it leaves the disk with the first container', 'disk-data', (await sb.exec(['/bin/cat', '/disk/demo.txt'])).stdout.trim());
}

/** A live snapshot of the passed-through disk, restored to a new host-mounted volume and read there. */
async function snapshotWalkthrough(node: DemoNode, v: DemoVolumes, report: DemoReport, sb: Sandbox): Promise<void> {
  report.step('Snapshot the passed-through disk live: CreateSnapshot has the sandbox freeze ext4 in the guest while the disk is copied');
  // Not synced on purpose: the guest's freeze writes it out before the copy.
  await sb.exec(['/bin/sh', '-c', 'echo snapshot-data > /disk/snap.txt']);
  const snap = ((await v.disk.client.controller.CreateSnapshot!({ source_volume_id: v.disk.volumeId, name: 'demo-snapshot' })) as { snapshot: { snapshot_id: string; ready_to_use: boolean } }).snapshot;
  report.check('the snapshot is ready to use', 'true', String(snap.ready_to_use));
  try {
    report.step('Restore it: CreateVolume from the snapshot, mounted on the host this time, and read what the container wrote');
    const restored = await provisionDisk(node, 'pv-demo-restored', false, snap.snapshot_id);
    try {
      report.check('the restored volume has what the container wrote before the snapshot', 'snapshot-data', readFileSync(join(restored.target, 'snap.txt'), 'utf8').trim());
    } finally {
      await releaseVolume(restored);
    }
  } finally {
    await v.disk.client.controller.DeleteSnapshot!({ snapshot_id: snap.snapshot_id });
  }
}

/**
 * `deps` boot the first sandbox; `cloneDeps` (the same, with VM templates on) start the second, which makes
 * the template first (one boot, saved) and is then restored from it.
 */
export async function sandboxWalkthrough(node: DemoNode, v: DemoVolumes, report: DemoReport, deps: SandboxDeps, cloneDeps: SandboxDeps): Promise<void> {
  report.step('Run a container in a passvol VM sandbox using all three volumes (QEMU; the disk hot-plugged as virtio-blk, NFS mounted by the guest)');
  const sb = await Sandbox.create('demo-1', await readBundle(bundle(join(node.work, 'bundle-1'), ['/bin/sleep', '600'], v)), deps);
  try {
    await sb.start(() => undefined);
    report.info(`sandbox up in ${sb.timings.bootMs} ms (${sb.accel}); volumes attached in ${Object.entries(sb.timings.volumeMs).map(([d, ms]) => `${d} ${ms} ms`).join(', ')}`);
    const mounts = (await sb.exec(['/bin/sh', '-c', 'mount | grep -E " /(disk|nas|host) "'])).stdout;
    report.info(mounts.trim());
    const typeOf = (d: string) => / type (\S+) /.exec(mounts.split('\n').find((l) => l.includes(` on ${d} `)) ?? '')?.[1] ?? 'missing';
    report.check('inside the container, the cloud disk is ext4 (passed through)', 'ext4', typeOf('/disk'));
    report.check('inside the container, the NAS volume is nfs4 (passed through)', 'nfs4', typeOf('/nas'));
    report.check('the ordinary volume arrives over the shared filesystem', sb.shareKind, typeOf('/host'));
    const w = await sb.exec(['/bin/sh', '-c', 'echo disk-data > /disk/demo.txt && echo nas-data > /nas/demo.txt && sync']);
    report.check('the container writes to both passed-through volumes', '0', String(w.exitCode));
    await sidecarWalkthrough(node, v, report, sb);
    report.step('Online resize: ControllerExpandVolume grows the disk, NodeExpandVolume asks the sandbox, the guest grows ext4');
    const before = Number((await sb.exec(['/bin/sh', '-c', 'df -k /disk | tail -1'])).stdout.trim().split(/\s+/)[1]);
    await v.disk.client.controller.ControllerExpandVolume!({ volume_id: v.disk.volumeId, capacity_range: { required_bytes: 512 * 2 ** 20 } });
    await v.disk.client.node.NodeExpandVolume!({ volume_id: v.disk.volumeId, volume_path: v.disk.target, capacity_range: { required_bytes: 512 * 2 ** 20 } });
    const after = Number((await sb.exec(['/bin/sh', '-c', 'df -k /disk | tail -1'])).stdout.trim().split(/\s+/)[1]);
    report.info(`df inside: ${before} KiB -> ${after} KiB`);
    report.check('the container sees the bigger filesystem', 'grown', after > before * 1.5 ? 'grown' : `${before} -> ${after}`);
    report.step('Stats: NodeGetVolumeStats of the passed-through disk comes from the guest, through the monitor socket');
    const stats = (await v.disk.client.node.NodeGetVolumeStats!({ volume_id: v.disk.volumeId, volume_path: v.disk.target })) as { usage: { total: number; unit: string }[]; volume_condition: { message: string } };
    report.info(`${stats.volume_condition.message}; total ${stats.usage[0]?.total} bytes`);
    report.check('stats total matches df inside', String(after), String(Math.round((stats.usage[0]?.total ?? 0) / 1024)));
    await snapshotWalkthrough(node, v, report, sb);
  } finally {
    await sb.kill('SIGKILL').catch(() => undefined);
    await sb.destroy();
  }
  const firstBootMs = sb.timings.bootMs;
  report.step('A second sandbox, after the first ended, reads the data back; it starts from a VM template (made once: one boot, saved), not a boot');
  const templates = cloneDeps.templates;
  if (templates) {
    const made = Date.now();
    await templates.get({ image: cloneDeps.image, memoryMiB: cloneDeps.memoryMiB ?? 512, cpus: cloneDeps.cpus ?? 1 });
    report.info(`VM template made in ${Date.now() - made} ms (once per guest image, memory and CPUs; \`passvol template make\` does it at node set-up)`);
  }
  const sb2 = await Sandbox.create('demo-2', await readBundle(bundle(join(node.work, 'bundle-2'), ['/bin/cat', '/disk/demo.txt', '/nas/demo.txt'], v)), cloneDeps);
  let out = '';
  try {
    report.info(`sandbox up in ${sb2.timings.bootMs} ms from the template (the first booted in ${firstBootMs} ms); volumes attached in ${Object.entries(sb2.timings.volumeMs).map(([d, ms]) => `${d} ${ms} ms`).join(', ')}`);
    report.check('the second sandbox started from the VM template', 'template', sb2.fromTemplate ? 'template' : 'booted');
    await sb2.start((_s, d) => (out += d.toString()));
    await sb2.wait();
  } finally {
    await sb2.destroy();
  }
  report.check('second sandbox reads what the first wrote', 'disk-data nas-data', out.trim().split('\n').join(' '));
}
