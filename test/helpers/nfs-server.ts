// Starts the embedded NFS server (nfs-ganesha) on a scratch folder for one test file and stops it when the
// file ends. Only one NFS server can own 127.0.0.1:2049 and the rpcbind registrations, so test files that
// need it take turns through a host-wide lock. The state folder is fixed, so a server left by a test run
// that was killed is recognised (and restarted on the new folder) instead of blocking the port.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { errnoCode } from '../../src/common/errors.js';
import { EmbeddedNfsServer, type EmbeddedNfsServerInfo } from '../../src/csi/backends/nas/embedded-nfs-server.js';
import { argvOf } from '../../src/csi/backends/nas/daemon-process.js';

const LOCK_DIR = join(tmpdir(), 'passvol-test-nfs-server.lock');
const STATE_DIR = join(tmpdir(), 'passvol-test-nfs-server-state');

export interface TestNfsServer {
  info: EmbeddedNfsServerInfo;
  /** The folder the server exports (files made here are visible over NFS). */
  exportDir: string;
  server: EmbeddedNfsServer;
  /**
   * Stops the server and starts it again on the same folders, keeping its record of NFSv4 clients (as a
   * real server's restart does: they reclaim their state in its grace period). `whileDown` runs between.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

/** A mkdir lock holding the owner's pid; a lock whose owner is gone is taken over. */
export async function lockHost(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(join(LOCK_DIR, 'pid'), `${process.pid}\n`);
      return;
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    const owner = Number((await readFile(join(LOCK_DIR, 'pid'), 'utf8').catch(() => '')).trim());
    if (owner === process.pid) throw new Error('startTestNfsServer is already active in this process: use one server per test');
    if (owner > 0 && (await argvOf(owner)) === undefined) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another test (pid ${owner || 'unknown'}) holds the NFS server lock ${LOCK_DIR}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startTestNfsServer(): Promise<TestNfsServer> {
  await lockHost(300_000);
  const root = await mkdtemp(join(tmpdir(), 'passvol-nfs-'));
  const exportDir = join(root, 'export');
  await mkdir(exportDir);
  const handle: TestNfsServer = {
    info: undefined as unknown as EmbeddedNfsServerInfo,
    exportDir,
    server: new EmbeddedNfsServer({ exportDir, stateDir: STATE_DIR, forgetClients: true }),
    async restart(whileDown) {
      await handle.server.stop();
      await whileDown?.();
      handle.server = new EmbeddedNfsServer({ exportDir, stateDir: STATE_DIR });
      handle.info = await handle.server.start();
    },
  };
  // One hook, in order: the server must stop before its folder goes, and the lock is released last.
  after(async () => {
    try {
      await handle.server.stop();
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(LOCK_DIR, { recursive: true, force: true });
    }
  });
  handle.info = await handle.server.start();
  return handle;
}

/** Releases the host-wide NFS server lock taken with lockHost (startTestNfsServer releases its own). */
export async function unlockHost(): Promise<void> {
  await rm(LOCK_DIR, { recursive: true, force: true });
}
