// `passvol direct-volume ...`: the flags of `kata-runtime direct-volume`, plus list and inspect.
import { Command, Option } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../parse-flags.js';
import { parseSize } from '../../common/size.js';
import {
  MonitorClient,
  RecordStore,
  directVolumeResize,
  directVolumeStats,
  resolveDirectVolumeRoot,
  type ListedRecord,
} from '../../directvolume/index.js';
import { formatTable } from '../output/table.js';

const GO_SHIM_ROOT_ENV = 'PASSVOL_GO_SHIM_ROOT';
const RS_SHIM_ROOT_ENV = 'PASSVOL_RS_SHIM_ROOT';

const CommonOptions = z.object({
  root: z.string().min(1).optional(),
  goShimRoot: z.string().min(1).optional(),
  rsShimRoot: z.string().min(1).optional(),
  json: z.boolean().optional(),
});
type CommonOptions = z.infer<typeof CommonOptions>;

function storeOf(o: CommonOptions): RecordStore {
  return new RecordStore(resolveDirectVolumeRoot(o.root));
}

function clientOf(o: CommonOptions): MonitorClient {
  return new MonitorClient({
    goShimRoot: o.goShimRoot ?? process.env[GO_SHIM_ROOT_ENV],
    rsShimRoot: o.rsShimRoot ?? process.env[RS_SHIM_ROOT_ENV],
  });
}

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('--root <dir>', 'direct-volume root (default: $KATA_DIRECT_VOLUME_ROOT_PATH or /run/kata-containers/shared/direct-volumes)'))
    .addOption(new Option('--go-shim-root <dir>', `Kata Go shim sandboxes root (default: $${GO_SHIM_ROOT_ENV} or /run/vc/sbs)`))
    .addOption(new Option('--rs-shim-root <dir>', `runtime-rs sandboxes root (default: $${RS_SHIM_ROOT_ENV} or /run/kata)`));
}

const VolumePath = z.string({ required_error: 'is required' }).min(1, 'must not be empty');

function listRows(entries: readonly ListedRecord[]): string[][] {
  return entries.map((e) => [
    e.volumePath ?? `(${e.dirName})`,
    e.record?.mountInfo['volume-type'] ?? '-',
    e.record?.mountInfo.device ?? '-',
    e.record?.mountInfo.fstype ?? '-',
    e.record?.sandboxId ?? '-',
    e.problem ?? '',
  ]);
}

function listJson(entries: readonly ListedRecord[]): unknown[] {
  return entries.map((e) => ({
    dirName: e.dirName,
    volumePath: e.volumePath ?? null,
    mountInfo: e.record?.mountInfo ?? null,
    sandboxId: e.record?.sandboxId ?? null,
    problem: e.problem ?? null,
  }));
}

export function directVolumeCommand(): Command {
  const dv = new Command('direct-volume').description('manage Kata-compatible direct-assigned volume records');

  withCommon(dv.command('add').description('add a direct-volume record (as kata-runtime direct-volume add)'))
    .requiredOption('--volume-path <path>', 'volume path: the CSI target path, the OCI mount source')
    .requiredOption('--mount-info <json>', 'mountInfo JSON: {"volume-type","device","fstype","metadata","options"}')
    .action(async (raw) => {
      const o = parseFlags(CommonOptions.extend({ volumePath: VolumePath, mountInfo: z.string() }), raw);
      await storeOf(o).add(o.volumePath, o.mountInfo);
    });

  withCommon(dv.command('remove').description('remove a direct-volume record; a missing one is not an error'))
    .requiredOption('--volume-path <path>', 'volume path')
    .action(async (raw) => {
      const o = parseFlags(CommonOptions.extend({ volumePath: VolumePath }), raw);
      await storeOf(o).remove(o.volumePath);
    });

  withCommon(dv.command('stats').description("print the guest filesystem's usage, from the sandbox's monitor socket"))
    .requiredOption('--volume-path <path>', 'volume path')
    .action(async (raw) => {
      const o = parseFlags(CommonOptions.extend({ volumePath: VolumePath }), raw);
      process.stdout.write(`${await directVolumeStats(storeOf(o), clientOf(o), o.volumePath)}\n`);
    });

  withCommon(dv.command('resize').description('grow the volume online, through the sandbox that uses it'))
    .requiredOption('--volume-path <path>', 'volume path')
    .requiredOption('--size <size>', 'new size: bytes, or a quantity like 8Gi or 500M')
    .action(async (raw) => {
      const o = parseFlags(CommonOptions.extend({ volumePath: VolumePath, size: z.string() }), raw);
      await directVolumeResize(storeOf(o), clientOf(o), o.volumePath, parseSize(o.size));
    });

  withCommon(dv.command('list').description('list every record with its device and sandbox binding'))
    .option('--json', 'print JSON for scripts')
    .action(async (raw) => {
      const o = parseFlags(CommonOptions, raw);
      const entries = await storeOf(o).list();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(listJson(entries), null, 2)}\n`);
      } else if (entries.length === 0) {
        process.stdout.write('no direct-volume records\n');
      } else {
        process.stdout.write(`${formatTable(['VOLUME PATH', 'TYPE', 'DEVICE', 'FSTYPE', 'SANDBOX', 'PROBLEM'], listRows(entries))}\n`);
      }
    });

  withCommon(dv.command('inspect').description('show one record in full'))
    .requiredOption('--volume-path <path>', 'volume path')
    .option('--json', 'print JSON for scripts')
    .action(async (raw) => {
      const o = parseFlags(CommonOptions.extend({ volumePath: VolumePath }), raw);
      const store = storeOf(o);
      const r = await store.get(o.volumePath);
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ volumePath: r.volumePath, directory: store.dirOf(r.volumePath), mountInfo: r.mountInfo, sandboxId: r.sandboxId ?? null }, null, 2)}\n`,
        );
        return;
      }
      const m = r.mountInfo;
      const lines = [
        ['volume path', r.volumePath],
        ['directory', store.dirOf(r.volumePath)],
        ['volume type', m['volume-type']],
        ['device', m.device],
        ['fstype', m.fstype],
        ['options', (m.options ?? []).join(',') || '-'],
        ['metadata', Object.entries(m.metadata ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
        ['sandbox', r.sandboxId ?? '-'],
      ];
      process.stdout.write(`${lines.map(([k, v]) => `${(k ?? '').padEnd(12)} ${v}`).join('\n')}\n`);
    });

  return dv;
}
