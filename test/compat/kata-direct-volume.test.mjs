// Byte-compatibility of passvol's direct-volume record store with Kata Containers' own Go implementation.
//
// Kata's real code runs through katacompat (test/compat/kata-direct-volume, built by
// scripts/build-kata-compat.sh from Kata's module at the version pinned there). Kata's root is fixed in its
// package, so Kata writes into the real /run/kata-containers/shared/direct-volumes: hence root only, volume
// paths carrying a random token, and a cleanup that removes everything this run created there.
//
// For every case: Kata writes a record, we read back its directory name, entries, modes and exact bytes, Kata
// removes it; then passvol's CLI writes the same into a temp root and everything must match. Then the sandbox
// binding both ways: Kata binds and passvol reads; passvol writes and binds, Kata reads.
//
// Plain JS on purpose: passvol runs as its CLI (node --import tsx src/cli/main.ts), in child processes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const RECORD_STORE_URL = pathToFileURL(join(REPO_ROOT, 'src', 'directvolume', 'record-store.ts')).href;
const TOOLS_DIR = process.env.PASSVOL_TOOLS_DIR ?? join(REPO_ROOT, '.tools');
const KATACOMPAT = process.env.KATACOMPAT_BIN ?? join(TOOLS_DIR, 'bin', 'katacompat');

/** Kata's direct-volume root: an unexported, fixed package variable in Kata's Go runtime. */
const KATA_ROOT = '/run/kata-containers/shared/direct-volumes';
/** Parents Kata's os.MkdirAll may create on the way; removed again if this run created them. */
const KATA_ROOT_CHAIN = ['/run/kata-containers', '/run/kata-containers/shared', KATA_ROOT];
/** passvol's staging folder inside a root: expected, not a difference. */
const STAGING = '.passvol-staging';

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const SKIP = IS_ROOT
  ? false
  : `needs root: Kata's direct-volume code writes only into its fixed root ${KATA_ROOT} (run as root)`;

const TOKEN = `pvcompat-${randomBytes(6).toString('hex')}`;

/** A path of exactly `bytes` UTF-8 bytes, unique to this run. */
function pathOfLength(bytes) {
  const prefix = `/var/lib/kubelet/pods/${TOKEN}/volumes/kubernetes.io~csi/pvc-`;
  const p = prefix + 'x'.repeat(bytes - Buffer.byteLength(prefix));
  assert.equal(Buffer.byteLength(p), bytes);
  return p;
}

const PLAIN = '{"volume-type":"directvol","device":"/dev/vdb","fstype":"ext4"}';
const CASES = [
  { name: 'ordinary path', volumePath: `/kubelet/kata-test-vol-001-${TOKEN}/volume001`, mountInfo: PLAIN },
  { name: 'path with a trailing slash', volumePath: `/kubelet/kata-test-vol-002-${TOKEN}/volume002/`, mountInfo: PLAIN },
  { name: 'path with non-ASCII bytes and a space', volumePath: `/var/lib/kubelet/pods/ü-${TOKEN}/vol 1`, mountInfo: PLAIN },
  { name: 'path of 189 bytes (longest whose name fits NAME_MAX)', volumePath: pathOfLength(189), mountInfo: PLAIN },
  {
    name: 'mount info with metadata and options',
    volumePath: `/kubelet/kata-test-vol-005-${TOKEN}/volume005`,
    mountInfo:
      '{"volume-type":"directvol","device":"/dev/disk/by-id/virtio-vol-5","fstype":"xfs",' +
      '"metadata":{"fsGroup":"2000","fsGroupChangePolicy":"OnRootMismatch","label":"données"},' +
      '"options":["noatime","nodiratime","discard"]}',
  },
  {
    name: 'mount info with unusual spacing and key order (written as given)',
    volumePath: `/kubelet/kata-test-vol-006-${TOKEN}/volume006`,
    mountInfo:
      '{\n  "options" : [ "ro" ,"noexec"],\t"fstype":"ext4" ,  "metadata": {"z":"1", "a":"2"},\n' +
      '"device" : "/dev/vdc",   "volume-type":"directvol"   }\n',
  },
];

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) assert.fail(`${what} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function needKatacompat() {
  if (!existsSync(KATACOMPAT)) {
    assert.fail(`Kata's katacompat binary not found at ${KATACOMPAT}: run scripts/build-kata-compat.sh`);
  }
}

const kata = (...args) => run(KATACOMPAT, args, `katacompat ${args[0]}`);
const passvol = (...args) =>
  run(process.execPath, ['--import', 'tsx', CLI, 'direct-volume', ...args], `passvol direct-volume ${args[0]}`);

/** Binds a sandbox with passvol's RecordStore (the CLI has no command for it), in a child process. */
function passvolRecordSandbox(root, volumePath, sandboxId) {
  const script =
    `import { RecordStore } from ${JSON.stringify(RECORD_STORE_URL)};\n` +
    'const [root, volumePath, sandboxId] = process.argv.slice(1);\n' +
    'await new RecordStore(root).recordSandbox(volumePath, sandboxId);\n';
  run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root, volumePath, sandboxId], 'RecordStore.recordSandbox');
}

/** Record directories in a root, leaving out passvol's staging folder. */
function recordDirs(root) {
  return existsSync(root) ? readdirSync(root).filter((n) => n !== STAGING) : [];
}

const mode = (st) => (st.mode & 0o7777).toString(8).padStart(4, '0');

/** Everything about one record directory that a reader could see. */
function snapshot(root, dirName) {
  const dir = join(root, dirName);
  const st = lstatSync(dir);
  const entries = readdirSync(dir)
    .sort()
    .map((name) => {
      const es = lstatSync(join(dir, name));
      return {
        name,
        type: es.isFile() ? 'file' : es.isDirectory() ? 'dir' : 'other',
        mode: mode(es),
        bytes: es.isFile() ? readFileSync(join(dir, name)) : undefined,
      };
    });
  return { dirName, type: st.isDirectory() ? 'dir' : 'other', mode: mode(st), entries };
}

/** The one new record directory a write made in `root`. */
function theNewDir(root, before, who) {
  const added = recordDirs(root).filter((n) => !before.has(n));
  assert.equal(added.length, 1, `${who} should have created exactly one record directory in ${root}, got: ${JSON.stringify(added)}`);
  return added[0];
}

const show = (buf) => `${JSON.stringify(buf.toString('utf8'))} (hex ${buf.toString('hex')})`;

describe('direct-volume records: passvol vs Kata Containers (Go runtime pkg/direct-volume)', () => {
  const preexisting = new Map();
  /** Record directory names this run made in the real root: removed in after(). */
  const createdInKataRoot = new Set();
  let tmpBase;

  before(() => {
    if (SKIP) return;
    for (const p of [...KATA_ROOT_CHAIN, join(KATA_ROOT, STAGING)]) preexisting.set(p, existsSync(p));
    tmpBase = mkdtempSync(join(tmpdir(), 'passvol-kata-compat-'));
  });

  after(() => {
    if (SKIP) return;
    const problems = [];
    for (const name of createdInKataRoot) rmSync(join(KATA_ROOT, name), { recursive: true, force: true });
    const staging = join(KATA_ROOT, STAGING);
    if (!preexisting.get(staging) && existsSync(staging)) rmSync(staging, { recursive: true, force: true });
    // Parents only if this run created them, and only when empty: someone else's records stay.
    for (const p of [...KATA_ROOT_CHAIN].reverse()) {
      if (preexisting.get(p) || !existsSync(p)) continue;
      try {
        rmdirSync(p);
      } catch (e) {
        problems.push(`${p}: ${e.message}`);
      }
    }
    if (tmpBase) rmSync(tmpBase, { recursive: true, force: true });
    for (const name of createdInKataRoot) {
      if (existsSync(join(KATA_ROOT, name))) problems.push(`${join(KATA_ROOT, name)} still exists`);
    }
    if (problems.length > 0) assert.fail(`cleanup of ${KATA_ROOT} left things behind:\n${problems.join('\n')}`);
  });

  for (const [i, c] of CASES.entries()) {
    test(`same record as Kata: ${c.name}`, { skip: SKIP }, () => {
      needKatacompat();

      // Kata writes into its real root; read back everything; Kata removes it.
      const before = new Set(recordDirs(KATA_ROOT));
      kata('add', c.volumePath, c.mountInfo);
      const kataDir = theNewDir(KATA_ROOT, before, 'Kata add');
      createdInKataRoot.add(kataDir);
      const k = snapshot(KATA_ROOT, kataDir);
      kata('remove', c.volumePath);
      assert.equal(existsSync(join(KATA_ROOT, kataDir)), false, 'Kata remove left the record directory');
      createdInKataRoot.delete(kataDir);

      // passvol writes the same into a temp root.
      const root = join(tmpBase, `case-${i}`);
      passvol('add', '--root', root, '--volume-path', c.volumePath, '--mount-info', c.mountInfo);
      const p = snapshot(root, theNewDir(root, new Set(), 'passvol add'));

      assert.equal(p.dirName, k.dirName, `directory name: passvol ${p.dirName} vs Kata ${k.dirName}`);
      assert.equal(p.type, k.type, 'record path type');
      assert.equal(p.mode, k.mode, `directory mode: passvol ${p.mode} vs Kata ${k.mode}`);
      const names = (s) => s.entries.map((e) => `${e.name} (${e.type} ${e.mode})`);
      assert.deepEqual(names(p), names(k), 'directory entries, types and modes');
      for (const [j, ke] of k.entries.entries()) {
        const pe = p.entries[j];
        if (ke.bytes === undefined) continue;
        assert.ok(
          pe.bytes.equals(ke.bytes),
          `${ke.name} bytes differ:\n  passvol: ${show(pe.bytes)}\n  Kata:    ${show(ke.bytes)}`,
        );
      }
      // And the bytes are the caller's, as given.
      const mi = k.entries.find((e) => e.name === 'mountInfo.json');
      assert.ok(mi, 'Kata wrote no mountInfo.json');
      assert.equal(mi.bytes.toString('utf8'), c.mountInfo, 'Kata wrote mountInfo.json as given');
    });
  }

  test('Kata binds a sandbox; passvol list reads the same binding from the real root', { skip: SKIP }, () => {
    needKatacompat();
    const volumePath = `/var/lib/kubelet/pods/${TOKEN}/volumes/kubernetes.io~csi/pvc-sbx-1/mount`;
    const mountInfo = CASES[4].mountInfo;
    const sandboxId = randomBytes(32).toString('hex');

    const before = new Set(recordDirs(KATA_ROOT));
    kata('add', volumePath, mountInfo);
    const dirName = theNewDir(KATA_ROOT, before, 'Kata add');
    createdInKataRoot.add(dirName);
    kata('record-sandbox', sandboxId, volumePath);
    assert.equal(kata('sandbox-of', volumePath).trim(), sandboxId, 'Kata reads back its own binding');

    const listed = JSON.parse(passvol('list', '--json', '--root', KATA_ROOT));
    const entry = listed.find((e) => e.dirName === dirName);
    assert.ok(entry, `passvol list does not show ${dirName}: ${JSON.stringify(listed)}`);
    assert.equal(entry.volumePath, volumePath, 'passvol decodes the directory name to the volume path');
    assert.equal(entry.sandboxId, sandboxId, 'passvol reads the sandbox id Kata recorded');
    assert.equal(entry.problem, null, 'passvol sees nothing wrong with a record Kata wrote');
    assert.deepEqual(entry.mountInfo, JSON.parse(mountInfo));

    kata('remove', volumePath);
    assert.equal(existsSync(join(KATA_ROOT, dirName)), false);
    createdInKataRoot.delete(dirName);
  });

  test('passvol writes and binds in the real root; Kata mount-info and sandbox-of read it', { skip: SKIP }, () => {
    needKatacompat();
    const volumePath = `/var/lib/kubelet/pods/${TOKEN}/volumes/kubernetes.io~csi/pvc-sbx-2/mount`;
    const mountInfo = CASES[4].mountInfo;
    const sandboxId = randomBytes(32).toString('hex');

    const before = new Set(recordDirs(KATA_ROOT));
    passvol('add', '--root', KATA_ROOT, '--volume-path', volumePath, '--mount-info', mountInfo);
    const dirName = theNewDir(KATA_ROOT, before, 'passvol add');
    createdInKataRoot.add(dirName);
    passvolRecordSandbox(KATA_ROOT, volumePath, sandboxId);

    // Kata parses into its MountInfo struct and this prints it re-marshalled by encoding/json.
    const kataView = JSON.parse(kata('mount-info', volumePath));
    assert.deepEqual(kataView, JSON.parse(mountInfo), 'Kata reads the mount info passvol wrote');
    assert.equal(kata('sandbox-of', volumePath).trim(), sandboxId, 'Kata reads the sandbox id passvol recorded');

    passvol('remove', '--root', KATA_ROOT, '--volume-path', volumePath);
    assert.equal(existsSync(join(KATA_ROOT, dirName)), false, 'passvol remove left the record directory');
    createdInKataRoot.delete(dirName);
    const r = spawnSync(KATACOMPAT, ['mount-info', volumePath], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, 'Kata still finds a record passvol removed');
  });
});
