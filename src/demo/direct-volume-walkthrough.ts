// The direct-volume part of the demo: add, list, inspect, bind, and remove a record in a scratch root,
// checking each result against what Kata's runtime would read.
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore, encodeVolumeDirName } from '../directvolume/index.js';
import type { DemoReport } from './demo-report.js';

const VOLUME_PATH = '/var/lib/kubelet/pods/0b7e-demo/volumes/kubernetes.io~csi/pvc-demo/mount';
const MOUNT_INFO = '{"volume-type":"directvol","device":"/dev/loop7","fstype":"ext4","metadata":{"fsGroup":"2000"},"options":["rw","noatime"]}';

export async function directVolumeWalkthrough(report: DemoReport, rootArg?: string): Promise<void> {
  const root = rootArg ?? (await mkdtemp(join(tmpdir(), 'passvol-demo-')));
  const store = new RecordStore(join(root, 'direct-volumes'));
  try {
    report.step(`Add a direct-volume record for a pod's volume, as the CSI driver does at NodePublish (root ${store.root})`);
    await store.add(VOLUME_PATH, MOUNT_INFO);
    const dirName = encodeVolumeDirName(VOLUME_PATH);
    report.info(`passvol direct-volume add --volume-path ${VOLUME_PATH} --mount-info '${MOUNT_INFO}'`);
    const names = (await readdir(store.root)).filter((n) => !n.startsWith('.'));
    report.check('record directory is named by URL-safe base64 of the path', dirName, names[0] ?? '(none)');
    report.check('mountInfo.json holds the exact bytes given', MOUNT_INFO, await readFile(join(store.root, dirName, 'mountInfo.json'), 'utf8'));
    report.check('directory mode', '700', ((await stat(join(store.root, dirName))).mode & 0o777).toString(8));
    report.check('file mode', '600', ((await stat(join(store.root, dirName, 'mountInfo.json'))).mode & 0o777).toString(8));

    report.step('Refuse a record the guest could not mount: "bind" in the options');
    const refused = await store.add('/var/lib/kubelet/bad', MOUNT_INFO.replace('"noatime"', '"bind"')).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    report.info(refused);
    report.check('bind option refused', 'refused', refused === 'accepted' ? 'accepted' : 'refused');

    report.step('Bind the volume to a sandbox, as the runtime does before hot-plugging it');
    await store.recordSandbox(VOLUME_PATH, 'sandbox-demo-1');
    const second = await store.recordSandbox(VOLUME_PATH, 'sandbox-demo-2').then(() => 'accepted', () => 'refused');
    report.check('a second sandbox is refused', 'refused', second);

    report.step('List and inspect');
    const listed = await store.list();
    for (const e of listed) report.info(`${e.volumePath}  ${e.record?.mountInfo.device}  ${e.record?.mountInfo.fstype}  sandbox=${e.record?.sandboxId}`);
    report.check('list shows the record with its sandbox', 'sandbox-demo-1', listed[0]?.record?.sandboxId ?? '-');

    report.step('Remove the record, as NodeUnpublish does; removing again is not an error');
    await store.remove(VOLUME_PATH);
    const again = await store.remove(VOLUME_PATH);
    report.check('record gone, second remove is a no-op', 'gone false', `${(await store.find(VOLUME_PATH)) ? 'present' : 'gone'} ${again}`);
  } finally {
    if (rootArg === undefined) await rm(root, { recursive: true, force: true });
  }
}
