// `passvol direct-volume` as a shell script sees it: Kata's flags, exit codes, one line on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../../helpers/run-cli.js';
import { scratchDir } from '../../helpers/temp-dir.js';
import { snapshotTree } from '../../helpers/tree-snapshot.js';
import { startUnixHttpServer } from '../../helpers/unix-http-server.js';

const VOL = '/kubelet/kata-test-vol-001/volume001';
const INFO = '{"volume-type":"directvol","device":"/dev/loop9","fstype":"xfs","metadata":{"fsGroup":"2000"}}';

test('add, list, inspect and remove with Kata flags and --root', async () => {
  const root = join(await scratchDir(), 'dv');
  const add = await runCli(['direct-volume', 'add', '--root', root, '--volume-path', VOL, '--mount-info', INFO]);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout + add.stderr, '');
  assert.equal(await readFile(join(root, 'L2t1YmVsZXQva2F0YS10ZXN0LXZvbC0wMDEvdm9sdW1lMDAx', 'mountInfo.json'), 'utf8'), INFO);

  const list = await runCli(['direct-volume', 'list', '--root', root]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /VOLUME PATH\s+TYPE\s+DEVICE\s+FSTYPE\s+SANDBOX/);
  assert.match(list.stdout, /\/kubelet\/kata-test-vol-001\/volume001\s+directvol\s+\/dev\/loop9\s+xfs\s+-/);

  const json = await runCli(['direct-volume', 'list', '--json', '--root', root]);
  assert.deepEqual(JSON.parse(json.stdout), [
    {
      dirName: 'L2t1YmVsZXQva2F0YS10ZXN0LXZvbC0wMDEvdm9sdW1lMDAx',
      volumePath: VOL,
      mountInfo: JSON.parse(INFO),
      sandboxId: null,
      problem: null,
    },
  ]);

  const inspect = await runCli(['direct-volume', 'inspect', '--json', '--root', root, '--volume-path', VOL]);
  assert.equal(JSON.parse(inspect.stdout).mountInfo.metadata.fsGroup, '2000');

  assert.equal((await runCli(['direct-volume', 'remove', '--root', root, '--volume-path', VOL])).code, 0);
  assert.equal((await runCli(['direct-volume', 'remove', '--root', root, '--volume-path', VOL])).code, 0, 'remove is idempotent');
  assert.equal((await runCli(['direct-volume', 'list', '--root', root])).stdout, 'no direct-volume records\n');
});

test('KATA_DIRECT_VOLUME_ROOT_PATH chooses the root when --root is absent', async () => {
  const root = join(await scratchDir(), 'env-root');
  const r = await runCli(['direct-volume', 'add', '--volume-path', '/v', '--mount-info', INFO], { KATA_DIRECT_VOLUME_ROOT_PATH: root });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse((await runCli(['direct-volume', 'list', '--json', '--root', root])).stdout).length, 1);
});

test('bad input: non-zero exit, one line on stderr, nothing changed', async () => {
  const root = join(await scratchDir(), 'dv');
  await runCli(['direct-volume', 'add', '--root', root, '--volume-path', VOL, '--mount-info', INFO]);
  const before = await snapshotTree(root);
  const cases: [string[], number, RegExp][] = [
    [['add', '--volume-path', 'relative', '--mount-info', INFO], 2, /not absolute/],
    [['add', '--volume-path', VOL, '--mount-info', '{"device":"x"}'], 2, /"volume-type" is required/],
    [['add', '--volume-path', VOL, '--mount-info', '{"volume-type":"directvol","device":"/d","fstype":"ext4","options":["bind"]}'], 2, /bind/],
    [['add', '--volume-path', VOL], 2, /required option '--mount-info <json>' not specified/],
    [['inspect', '--volume-path', '/nope'], 3, /no direct-volume record for \/nope/],
    [['stats', '--volume-path', VOL], 5, /no sandbox uses volume/],
    [['resize', '--volume-path', VOL, '--size', 'lots'], 2, /size "lots" is not understood/],
    [['frobnicate'], 2, /unknown command 'frobnicate'/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(['direct-volume', ...args, '--root', root]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `more than one stderr line: ${r.stderr}`);
    assert.match(r.stderr, /^passvol: /);
  }
  assert.deepEqual(await snapshotTree(root), before);
});

test('stats and resize reach the sandbox monitor socket; --size takes bytes and quantities', async () => {
  const dir = await scratchDir();
  const root = join(dir, 'dv');
  const shims = join(dir, 'sbs');
  await runCli(['direct-volume', 'add', '--root', root, '--volume-path', VOL, '--mount-info', INFO]);
  // Bind a sandbox the way a runtime does: an empty file named by its id.
  const { RecordStore } = await import('../../../src/directvolume/record-store.js');
  await new RecordStore(root).recordSandbox(VOL, 'sandbox-1');
  const srv = await startUnixHttpServer(join(shims, 'sandbox-1', 'shim-monitor.sock'), (r, res) =>
    res.end(r.method === 'GET' ? '{"usage":[{"total":100,"unit":1}]}' : ''),
  );
  try {
    const common = ['--root', root, '--go-shim-root', shims, '--rs-shim-root', join(dir, 'none'), '--volume-path', VOL];
    const stats = await runCli(['direct-volume', 'stats', ...common]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(stats.stdout, '{"usage":[{"total":100,"unit":1}]}\n');
    for (const [size, bytes] of [['2147483648', 2147483648], ['8Gi', 8589934592], ['500M', 500000000]] as const) {
      const r = await runCli(['direct-volume', 'resize', ...common, '--size', size]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(srv.seen.at(-1)?.body ?? '{}').Size, bytes);
    }
  } finally {
    await srv.close();
  }
  const gone = await runCli(['direct-volume', 'stats', '--root', root, '--go-shim-root', shims, '--rs-shim-root', shims, '--volume-path', VOL]);
  assert.equal(gone.code, 8);
  assert.match(gone.stderr, /no monitor socket of sandbox sandbox-1 answered/);
});
