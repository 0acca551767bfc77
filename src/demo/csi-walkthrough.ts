// The demo's CSI half: three volumes provisioned as kubelet would (a passed-through disk, a passed-through
// NAS folder, an ordinary host-mounted disk), each checked for what the runtime will find.
import { readFileSync } from 'node:fs';
import { RecordStore } from '../directvolume/index.js';
import type { DemoReport } from './demo-report.js';
import type { DemoNode } from './demo-environment.js';
import { provisionDisk, provisionNas, type DemoVolume } from './demo-volumes.js';

export interface DemoVolumes {
  disk: DemoVolume;
  nas: DemoVolume;
  host: DemoVolume;
  all: DemoVolume[];
}

const mountedAt = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === path);
const deviceMounted = (device: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.startsWith(`${device} `));

/** Each volume is added to `all` as soon as it is provisioned, so the caller can release it whatever fails later. */
export async function provisionDemoVolumes(node: DemoNode, report: DemoReport, all: DemoVolume[] = []): Promise<DemoVolumes> {
  const records = new RecordStore(node.directVolumes);
  report.step('A cloud disk for the sandbox: CreateVolume (passthrough: "true") -> ControllerPublish (attach) -> NodeStage -> NodePublish');
  const disk = await provisionDisk(node, 'pvc-demo-disk', true);
  all.push(disk);
  const dr = await records.get(disk.target);
  report.info(`record for ${disk.target}:\n${dr.raw}`);
  report.check('disk record is a Kata directvol record for the attached device', `directvol ${disk.device} ext4`, `${dr.mountInfo['volume-type']} ${dr.mountInfo.device} ${dr.mountInfo.fstype}`);
  report.check('passed-through disk is not mounted on the host', 'not mounted', deviceMounted(disk.device as string) ? 'mounted' : 'not mounted');

  report.step('A NAS volume for the sandbox: CreateVolume on the embedded NFS server -> NodePublish (no host mount)');
  const nas = await provisionNas(node, 'pvc-demo-nas');
  all.push(nas);
  const nr = await records.get(nas.target);
  report.info(`record for ${nas.target}:\n${nr.raw}`);
  report.check('NAS record names the export for the guest to mount', `nfs ${node.nfs.server}:${node.nfs.share}/pvc-demo-nas nfs4`, `${nr.mountInfo['volume-type']} ${nr.mountInfo.device} ${nr.mountInfo.fstype}`);
  report.check('nothing mounted on the host at the NAS target', 'not mounted', mountedAt(nas.target) ? 'mounted' : 'not mounted');

  report.step('An ordinary disk for contrast: same driver, no passthrough, mounted on the host as usual');
  const host = await provisionDisk(node, 'pvc-demo-host', false);
  all.push(host);
  report.check('host volume is bind-mounted at its target', 'ext4', mountedAt(host.target)?.split(' - ')[1]?.split(' ')[0] ?? 'not mounted');
  report.check('host volume has no direct-volume record', 'none', (await records.find(host.target)) ? 'record' : 'none');
  return { disk, nas, host, all };
}
