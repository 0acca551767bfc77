// A Kubernetes pod as kubelet makes it, through containerd's CRI and crictl, with runtime handler `passvol`:
// CRI makes the pod's network namespace and CNI (Debian's bridge and host-local plugins) gives it an
// address; the sandbox VM gets that interface (a tap redirected to the pod's veth) with the pod's address
// and routes; a container serves HTTP on the pod's address and has a passed-through ext4 disk. Then the
// pod is torn down as kubelet does it and nothing is left. The pod has limits and a cgroup parent: the VM is
// sized for them and runs in the pod's cgroup. Real containerd 1.6, CNI, crictl and VMs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RecordStore } from '../../src/directvolume/index.js';
import { cgroupDir, cgroupHierarchies } from '../../src/runtime/sandbox/pod-cgroup.js';
import { containerdSkip, criSkip, crictl, crictlInTerminal, ociImageArchive, startContainerd, type Containerd } from '../helpers/containerd.js';
import { ext4LoopDisk, undoMountsAndLoops } from '../helpers/host-cleanup.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { sandboxSkip } from '../helpers/sandbox-fixture.js';
import { waitFor } from '../helpers/vm.js';

const skip = sandboxSkip || containerdSkip || criSkip;
// The pod network: a bridge the test makes (the node's side, and the pods' gateway), and CNI's range on it.
const BRIDGE = `pvcri${process.pid % 10000}`;
const GATEWAY = '10.231.0.1';
const SUBNET = '10.231.0.0/24';

function httpGet(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

async function ok(ctd: Containerd, args: string[]): Promise<string> {
  const r = await crictl(ctd, args);
  assert.equal(r.code, 0, `crictl ${args.join(' ')}: ${r.stderr}\n${ctd.log().slice(-3000)}`);
  return r.stdout.trim();
}

test('a pod through CRI: the VM takes the address CNI gave the pod, serves on it, and has its disk passed through; teardown leaves nothing', { skip, timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'passvol-cri-'));
  const runtimeRoot = join(root, 'sandboxes');
  const dv = join(root, 'dv');
  const cniConf = join(root, 'cni');
  mkdirSync(cniConf);
  spawnSync('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  spawnSync('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
  spawnSync('ip', ['link', 'set', BRIDGE, 'up']);
  writeFileSync(
    join(cniConf, '10-passvol-test.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'passvol-test',
      plugins: [{ type: 'bridge', bridge: BRIDGE, isGateway: false, ipMasq: false, ipam: { type: 'host-local', dataDir: join(root, 'ipam'), ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], routes: [{ dst: '0.0.0.0/0', gw: GATEWAY }] } }],
    }),
  );
  const ctd = await startContainerd(join(root, 'ctd'), { root: dv, runtimeRoot, goShimRoot: join(root, 'sbs'), logLevel: 'info' }, { sandboxImage: 'passvol.test/pause:1', cniConfDir: cniConf });
  after(async () => {
    await crictl(ctd, ['rmp', '--all', '--force']).catch(() => undefined);
    await ctd.stop();
    spawnSync('pkill', ['-KILL', '-f', root]);
    undoMountsAndLoops(root);
    spawnSync('ip', ['link', 'del', BRIDGE]);
    rmSync(root, { recursive: true, force: true });
  });

  const rootfs = join(writeBundle(join(root, 'bundle'), ['/bin/true'], []), 'rootfs');
  for (const [name, cmd] of [
    ['passvol.test/pause:1', ['/bin/sleep', '2147483647']],
    ['passvol.test/busybox:1', ['/bin/sh']],
  ] as const) {
    const imported = await ctd.ctr(['-n', 'k8s.io', 'images', 'import', ociImageArchive(rootfs, join(root, `image-${name.length}`), name, [...cmd])]);
    assert.equal(imported.code, 0, imported.stderr);
  }
  // The disk as the CSI driver would leave it at the volume's target path: a direct-volume record.
  const { dev } = ext4LoopDisk(root);
  const target = join(root, 'target');
  mkdirSync(target);
  const records = new RecordStore(dv);
  await records.add(target, { 'volume-type': 'directvol', device: dev, fstype: 'ext4', options: ['rw', 'nosuid', 'nodev'] });

  const podConfig = join(root, 'pod.json');
  // The pod's limits as kubelet hands them to CRI (the sum of its containers'), and its cgroup parent: relative, so
  // under the test's own cgroups (cgroupfs driver; kubelet would give /kubepods/burstable/pod<uid>).
  const cgroupParent = `passvol-cri-${process.pid}/pod-web`;
  const hierarchies = await cgroupHierarchies();
  after(() => {
    for (const h of hierarchies) for (const p of [cgroupParent, dirname(cgroupParent)]) if (existsSync(cgroupDir(h, p))) rmdirSync(cgroupDir(h, p));
  });
  writeFileSync(
    podConfig,
    JSON.stringify({
      metadata: { name: 'web', namespace: 'default', uid: 'u-web', attempt: 0 },
      hostname: 'web',
      log_directory: join(root, 'logs'),
      linux: { cgroup_parent: cgroupParent, resources: { memory_limit_in_bytes: 256 * 1024 * 1024, cpu_period: 100000, cpu_quota: 100000 } },
    }),
  );
  const containerConfig = join(root, 'container.json');
  writeFileSync(
    containerConfig,
    JSON.stringify({
      metadata: { name: 'httpd' },
      image: { image: 'passvol.test/busybox:1' },
      command: ['/bin/sh', '-c', 'mkdir -p /www && echo served-from-the-vm > /www/index.html && echo on-disk > /data/f && echo serving && exec /bin/busybox httpd -f -p 8080 -h /www'],
      mounts: [{ container_path: '/data', host_path: target }],
      log_path: 'httpd.log',
      linux: {},
    }),
  );

  const pod = await ok(ctd, ['runp', '--runtime', 'passvol', podConfig]);
  const podIp = (JSON.parse(await ok(ctd, ['inspectp', pod])) as { status: { network: { ip: string } } }).status.network.ip;
  assert.match(podIp, /^10\.231\.0\.\d+$/, 'CNI gave the pod an address');
  // The VM and its helpers run in the pod's cgroup (the sandbox's, under the pod's parent), in every hierarchy.
  const qemuPid = Number(spawnSync('pgrep', ['-f', `qemu-system.*${root}`], { encoding: 'utf8' }).stdout.trim());
  const podCgroup = `${cgroupParent}/${pod}`;
  const qemuCgroups = readFileSync(`/proc/${qemuPid}/cgroup`, 'utf8').trim().split('\n');
  assert.equal(qemuCgroups.filter((l) => l.endsWith(`/${podCgroup}`)).length, hierarchies.length, qemuCgroups.join('\n'));
  const container = await ok(ctd, ['create', pod, containerConfig, podConfig]);
  await ok(ctd, ['start', container]);

  // The node reaches the pod at its address: the VM answers.
  const { value: body } = await waitFor(async () => httpGet(`http://${podIp}:8080/`), 30_000, 'the pod to serve on its address');
  assert.equal(body, 'served-from-the-vm\n');
  // Inside: the pod's address on eth0 and the default route CNI set; the disk is the guest's ext4.
  const inside = await ok(ctd, ['exec', '--sync', container, '/bin/sh', '-c', 'ip -o addr show dev eth0; ip route; mount; cat /data/f; ping -c 1 -W 5 ' + GATEWAY + ' >/dev/null && echo gateway-answers; grep CapBnd /proc/1/status']);
  // containerd's default capabilities, as runc's container would have them: not the guest's whole set.
  assert.match(inside, /^CapBnd:\s+00000000a80425fb$/m, inside);
  assert.match(inside, new RegExp(`eth0\\s+inet ${podIp.replaceAll('.', '\\.')}/24`), inside);
  assert.match(inside, new RegExp(`default via ${GATEWAY.replaceAll('.', '\\.')} dev eth0`), inside);
  assert.match(inside, / on \/data type ext4 /, 'the disk is passed through');
  assert.match(inside, /on-disk\ngateway-answers/, 'the container wrote to the disk and reaches its gateway');
  // kubelet's resource metrics (kubectl top) read the container's cgroup in the guest through CRI's stats.
  const stats = JSON.parse(await ok(ctd, ['stats', '-o', 'json', container])) as { stats: { cpu: { usageCoreNanoSeconds: { value: string | number } }; memory: { workingSetBytes: { value: string | number } } }[] };
  assert.equal(stats.stats.length, 1, JSON.stringify(stats));
  assert.ok(Number(stats.stats[0]?.cpu.usageCoreNanoSeconds.value) > 0, `CPU time: ${JSON.stringify(stats)}`);
  assert.ok(Number(stats.stats[0]?.memory.workingSetBytes.value) > 0, `memory: ${JSON.stringify(stats)}`);
  // kubectl exec -it: a terminal in the guest, what is typed reaches the shell, its exit code comes back.
  const tty = await crictlInTerminal(ctd, ['exec', '-it', container, '/bin/sh'], '[ -t 0 ] && [ -t 1 ] && echo "in a tty of $(/bin/busybox stty size)"\nexit 7\n');
  assert.match(tty.stdout, /^in a tty of \d+ \d+\r?$/m, tty.stdout);
  assert.match(tty.stdout, /command terminated with exit code 7/, 'crictl reports the exit code (and exits 1)');
  // New limits reach the container's cgroup in the guest (CRI's UpdateContainerResources, an in-place resize).
  await ok(ctd, ['update', '--memory', String(100 * 1024 * 1024), '--cpu-quota', '30000', '--cpu-period', '100000', container]);
  assert.equal(await ok(ctd, ['exec', '--sync', container, '/bin/cat', `/sys/fs/cgroup/containers/${container}/memory.max`, `/sys/fs/cgroup/containers/${container}/cpu.max`]), `${100 * 1024 * 1024}\n30000 100000`);
  // A container that outgrows its memory limit is OOM-killed in its own cgroup, and kubelet is told so.
  const hogConfig = join(root, 'hog.json');
  writeFileSync(hogConfig, JSON.stringify({ metadata: { name: 'hog' }, image: { image: 'passvol.test/busybox:1' }, command: ['/bin/busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=96M', 'count=1'], log_path: 'hog.log', linux: { resources: { memory_limit_in_bytes: 32 * 1024 * 1024 } } }));
  const hog = await ok(ctd, ['create', pod, hogConfig, podConfig]);
  await ok(ctd, ['start', hog]);
  const hogStatus = await waitFor(async () => {
    const st = (JSON.parse(await ok(ctd, ['inspect', hog])) as { status: { state: string; exitCode: number; reason: string } }).status;
    return st.state === 'CONTAINER_EXITED' ? st : undefined;
  }, 60_000, 'the memory hog to be killed');
  assert.deepEqual([hogStatus.value.exitCode, hogStatus.value.reason], [137, 'OOMKilled']);
  await ok(ctd, ['rm', hog]);
  // The VM is sized for the pod: the base 512 MiB and 1 vCPU, plus the pod's 256 MiB and 1 CPU.
  const size = (await ok(ctd, ['exec', '--sync', container, '/bin/sh', '-c', 'grep MemTotal /proc/meminfo; nproc'])).split('\n');
  const memTotalMiB = Number(size[0]?.split(/\s+/)[1]) / 1024;
  assert.ok(memTotalMiB > 700 && memTotalMiB <= 768, `the guest has 768 MiB less what its kernel keeps: ${memTotalMiB} MiB`);
  assert.equal(Number(size[1]), Math.min(2, availableParallelism()), 'the guest has a vCPU for the pod beside its own');
  // A second container of the pod shares its network: it reaches the first on localhost.
  // It alone mounts a memory emptyDir (a tmpfs where kubelet keeps them), larger than the guest's memory.
  const emptyDir = join(root, 'kubelet/pods/u-web/volumes/kubernetes.io~empty-dir/cache');
  mkdirSync(emptyDir, { recursive: true });
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4g', 'tmpfs', emptyDir]).status, 0);
  const sidecarConfig = join(root, 'sidecar.json');
  writeFileSync(sidecarConfig, JSON.stringify({ metadata: { name: 'sidecar' }, image: { image: 'passvol.test/busybox:1' }, command: ['/bin/sleep', '600'], mounts: [{ container_path: '/cache', host_path: emptyDir }], log_path: 'sidecar.log', linux: {} }));
  const sidecar = await ok(ctd, ['create', pod, sidecarConfig, podConfig]);
  await ok(ctd, ['start', sidecar]);
  assert.match(await ok(ctd, ['exec', '--sync', sidecar, '/bin/sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | /bin/busybox nc 127.0.0.1 8080']), /served-from-the-vm/);
  // And its memory: CRI's /dev/shm for the pod is one tmpfs in the guest that both containers see.
  await ok(ctd, ['exec', '--sync', sidecar, '/bin/sh', '-c', 'echo from-the-sidecar > /dev/shm/note; echo kept > /cache/note']);
  const shm = await ok(ctd, ['exec', '--sync', container, '/bin/sh', '-c', 'cat /dev/shm/note; mount | grep " on /dev/shm "']);
  assert.match(shm, /^from-the-sidecar\n\S+ on \/dev\/shm type tmpfs /, shm);
  await ok(ctd, ['stop', '--timeout', '2', sidecar]);
  await ok(ctd, ['rm', sidecar]);
  // kubelet restarts it (a new container, the same emptyDir): what it left in its memory emptyDir is there.
  writeFileSync(sidecarConfig, JSON.stringify({ ...JSON.parse(readFileSync(sidecarConfig, 'utf8')), metadata: { name: 'sidecar', attempt: 1 } }));
  const restarted = await ok(ctd, ['create', pod, sidecarConfig, podConfig]);
  await ok(ctd, ['start', restarted]);
  const cache = await ok(ctd, ['exec', '--sync', restarted, '/bin/sh', '-c', 'cat /cache/note; mount | grep " on /cache "; df -k /cache | tail -1']);
  assert.match(cache, /^kept\n\S+ on \/cache type tmpfs /, cache);
  assert.equal(Number(cache.trim().split('\n').at(-1)?.trim().split(/\s+/)[1]), 768 * 1024, "the guest's memory (768 MiB) caps it");
  await ok(ctd, ['stop', '--timeout', '2', restarted]);
  await ok(ctd, ['rm', restarted]);
  const failing = await crictl(ctd, ['exec', '--sync', container, '/bin/sh', '-c', 'exit 3']);
  assert.notEqual(failing.code, 0, 'an exec that fails fails crictl');
  assert.match(await ok(ctd, ['logs', container]), /serving/, "the container's output reaches its CRI log");
  assert.equal(await records.sandboxOf(target).then((s) => s !== undefined), true, 'the disk is bound to the pod sandbox');

  // Teardown as kubelet does it: stop and remove the container, then the pod.
  await ok(ctd, ['stop', '--timeout', '2', container]);
  await ok(ctd, ['rm', container]);
  await ok(ctd, ['stopp', pod]);
  await ok(ctd, ['rmp', pod]);
  assert.equal(await records.sandboxOf(target), undefined, 'the disk is released');
  assert.deepEqual(readdirSync(runtimeRoot), [], 'no sandbox folder is left');
  assert.equal(spawnSync('pgrep', ['-f', `qemu-system.*${root}`], { encoding: 'utf8' }).stdout.trim(), '', 'no VM is left');
  assert.doesNotMatch(spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout, /pvt[0-9a-f]{8}/, 'no tap is left in the host namespace');
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(join(root, 'ctd')), 'no rootfs or shm stays mounted');
  assert.equal(await httpGet(`http://${podIp}:8080/`), undefined, 'the address answers no more');
  for (const h of hierarchies) assert.equal(existsSync(cgroupDir(h, podCgroup)), false, `the sandbox's cgroup is removed from ${h.mount}`);
});
