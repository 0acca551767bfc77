// The direct-volume part of the demo: the real `passvol direct-volume` commands (add, list, inspect, remove) run
// on a scratch root, each shown as typed with what it printed, and checked against what Kata's runtime would read.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore, encodeVolumeDirName } from '../directvolume/index.js';
import type { DemoReport } from './demo-report.js';

const VOLUME_PATH = '/var/lib/kubelet/pods/0b7e-demo/volumes/kubernetes.io~csi/pvc-demo/mount';
const MOUNT_INFO = '{"volume-type":"directvol","device":"/dev/loop7","fstype":"ext4","metadata":{"fsGroup":"2000"},"options":["rw","noatime"]}';

/** How to run this program's CLI: the same node, node flags and entry point as the running command. */
export const thisCli = (): string[] => [process.execPath, ...process.execArgv, process.argv[1] as string];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A word as a POSIX shell would need it typed. */
export const shellWord = (w: string): string => (/^[\w@%+=:,./~-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

function runCli(cli: readonly string[], args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli[0] as string, [...cli.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}

/** Fields of `passvol direct-volume inspect`: one `name  value` line each, the name padded to 12. */
const inspectFields = (out: string) => new Map(out.split('\n').filter(Boolean).map((l) => [l.slice(0, 12).trim(), l.slice(13)] as const));

/**
 * `cli` starts the passvol CLI (default: this very program, as the running demo was started); `rootArg` is
 * the scratch folder (default: a temporary one, removed at the end).
 */
export async function directVolumeWalkthrough(report: DemoReport, rootArg?: string, cli: readonly string[] = thisCli()): Promise<void> {
  const root = rootArg ?? (await mkdtemp(join(tmpdir(), 'passvol-demo-')));
  const store = new RecordStore(join(root, 'direct-volumes'));
  /** Shows the command as typed and what it printed; a failure throws unless `mayFail`. */
  const passvol = async (args: string[], mayFail = false): Promise<CliResult> => {
    const all = ['direct-volume', ...args.slice(0, 1), '--root', store.root, ...args.slice(1)];
    report.info(`$ passvol ${all.map(shellWord).join(' ')}`);
    const r = await runCli(cli, all);
    const printed = `${r.stdout}${r.stderr}`.trimEnd();
    if (printed) report.info(printed);
    if (r.code !== 0 && !mayFail) throw new Error(`passvol direct-volume ${args[0]} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  };
  try {
    report.step(`Add a direct-volume record for a pod's volume with the CLI, as the CSI driver does at NodePublish (root ${store.root})`);
    await passvol(['add', '--volume-path', VOLUME_PATH, '--mount-info', MOUNT_INFO]);
    const dirName = encodeVolumeDirName(VOLUME_PATH);
    const names = (await readdir(store.root)).filter((n) => !n.startsWith('.'));
    report.check('record directory is named by URL-safe base64 of the path', dirName, names[0] ?? '(none)');
    report.check('mountInfo.json holds the exact bytes given', MOUNT_INFO, await readFile(join(store.root, dirName, 'mountInfo.json'), 'utf8'));
    report.check('directory mode', '700', ((await stat(join(store.root, dirName))).mode & 0o777).toString(8));
    report.check('file mode', '600', ((await stat(join(store.root, dirName, 'mountInfo.json'))).mode & 0o777).toString(8));

    report.step('Refuse a record the guest could not mount: "bind" in the options');
    const refused = await passvol(['add', '--volume-path', '/var/lib/kubelet/bad', '--mount-info', MOUNT_INFO.replace('"noatime"', '"bind"')], true);
    report.check('bind option refused', 'refused', refused.code === 0 ? 'accepted' : 'refused');

    report.step('Bind the volume to a sandbox, as the runtime does before hot-plugging it');
    await store.recordSandbox(VOLUME_PATH, 'sandbox-demo-1');
    const second = await store.recordSandbox(VOLUME_PATH, 'sandbox-demo-2').then(() => 'accepted', () => 'refused');
    report.check('a second sandbox is refused', 'refused', second);

    report.step('List and inspect with the CLI');
    const listed = await passvol(['list']);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(`${VOLUME_PATH} `))?.split(/\s+/);
    report.check('list shows the record with its sandbox', 'sandbox-demo-1', row?.[4] ?? '-');
    const inspected = inspectFields((await passvol(['inspect', '--volume-path', VOLUME_PATH])).stdout);
    report.check('inspect shows the device, filesystem and sandbox', '/dev/loop7 ext4 sandbox-demo-1', ['device', 'fstype', 'sandbox'].map((k) => inspected.get(k) ?? '-').join(' '));

    report.step('Remove the record with the CLI, as NodeUnpublish does; removing again is not an error');
    await passvol(['remove', '--volume-path', VOLUME_PATH]);
    const again = await passvol(['remove', '--volume-path', VOLUME_PATH], true);
    report.check('record gone, second remove is a no-op', 'gone, exit 0', `${(await store.find(VOLUME_PATH)) ? 'present' : 'gone'}, exit ${again.code}`);
  } finally {
    if (rootArg === undefined) await rm(root, { recursive: true, force: true });
  }
}
