// The embedded default NAS: nfs-ganesha (a user-space NFS server, VFS backend) serving one local folder on
// 127.0.0.1, NFSv3 and v4.x. Ganesha registers with rpcbind and aborts without it ("Cannot register NFS V3"),
// so rpcbind runs first (`rpcbind -f`; `-h 127.0.0.1` crashes the Debian 12 build). Everything it writes is
// under the state folder, so a later start finds a running server and reuses it, and stop stops only what
// this state folder started. Clients mount `127.0.0.1:<pseudoPath>` with v3 and v4 alike.
import { spawn } from 'node:child_process';
import { access, constants, mkdir, open, readFile, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassvolError, failedPrecondition } from '../../../common/errors.js';
import { writeNewFileDurably } from '../../../common/durable-fs.js';
import { systemExec, type Exec } from '../../../common/exec.js';
import type { Logger } from '../../../common/logger.js';
import { acceptsTcp, isProgram, readPidFile, sleep, tailOf, terminate } from './daemon-process.js';
import { ganeshaConfig } from './ganesha-config.js';

export const EMBEDDED_NFS_ADDRESS = '127.0.0.1';
export const EMBEDDED_NFS_PACKAGES = 'nfs-ganesha nfs-ganesha-vfs rpcbind';
const RPCBIND_PORT = 111;
const MAX_LOG_BYTES = 4 * 2 ** 20;

export interface EmbeddedNfsServerOptions {
  /** The folder served. It must exist. */
  exportDir: string;
  /** Config, pid files, log and NFSv4 recovery data. Created 0700. */
  stateDir: string;
  /** The path clients mount (v3 and v4); `/export` when absent. */
  pseudoPath?: string;
  nfsPort?: number;
  mountPort?: number;
  startTimeoutMs?: number;
  exec?: Exec;
  /** How long SIGTERM gets before SIGKILL. */
  stopTimeoutMs?: number;
  /**
   * Forget the NFSv4 clients of earlier runs on a fresh start, so no grace period waits for them to reclaim.
   * Only for servers whose clients are known to be gone (tests); a restart under live sandboxes needs grace.
   */
  forgetClients?: boolean;
  logger?: Logger;
}

export interface EmbeddedNfsServerInfo {
  server: string;
  /** What clients mount, `server:share`, for v3 and v4. */
  share: string;
  /** The real path of the folder served. */
  localDir: string;
  /** The `--nas-local-path` value that lets the NAS controller reach this export locally. */
  localPathMapping: string;
  nfsPort: number;
  mountPort: number;
  pid: number;
  /** True when a server started earlier from this state folder was found running and kept. */
  reused: boolean;
  /** Milliseconds from spawning ganesha.nfsd until it served (0 when reused). */
  startMs: number;
  logFile: string;
}

async function findBinary(names: readonly string[]): Promise<string | undefined> {
  for (const p of names) if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  return undefined;
}

async function vfsFsalInstalled(): Promise<boolean> {
  const dirs = ['/usr/lib64/ganesha', ...(await readdir('/usr/lib').catch(() => [])).map((d) => join('/usr/lib', d, 'ganesha'))];
  for (const d of dirs) if (await stat(join(d, 'libfsalvfs.so')).then(() => true, () => false)) return true;
  return false;
}

/** Noise of every start on a host without D-Bus or Kerberos; never the reason a start failed. */
const LOG_NOISE = /:DBUS :|krb5|keytab|RADOS|default realm/;

/** The log lines of this start that say something went wrong (else its last lines), for an error message. */
async function startProblems(logFile: string, offset: number): Promise<string> {
  const lines = (await tailOf(logFile, 2000, offset)).split('\n');
  const bad = lines.filter((l) => /:(CRIT|MAJ|FATAL|WARN) :/.test(l) && !LOG_NOISE.test(l)).slice(-10);
  return bad.length ? `problems in ${logFile}:\n${bad.join('\n')}` : `last lines of ${logFile}:\n${lines.slice(-15).join('\n')}`;
}

export class EmbeddedNfsServer {
  private readonly nfsPort: number;
  private readonly mountPort: number;
  private readonly pseudoPath: string;

  constructor(private readonly options: EmbeddedNfsServerOptions) {
    this.nfsPort = options.nfsPort ?? 2049;
    this.mountPort = options.mountPort ?? 20048;
    this.pseudoPath = options.pseudoPath ?? '/export';
  }

  private path(name: string): string {
    return join(this.options.stateDir, name);
  }
  private get configFile() {
    return this.path('ganesha.conf');
  }
  private get logFile() {
    return this.path('ganesha.log');
  }
  private get pidFile() {
    return this.path('ganesha.pid');
  }
  /** Present only while rpcbind runs because this state folder started it. */
  private get rpcbindPidFile() {
    return this.path('rpcbind.pid');
  }

  /** The pid of this state folder's ganesha, if it runs. */
  async runningPid(): Promise<number | undefined> {
    const pid = await readPidFile(this.pidFile);
    return pid !== undefined && (await isProgram(pid, 'ganesha.nfsd', ['-f', this.configFile])) ? pid : undefined;
  }

  async start(): Promise<EmbeddedNfsServerInfo> {
    if (process.getuid?.() !== 0) throw failedPrecondition('the embedded NFS server needs root (ganesha\'s VFS backend opens files by handle, which needs CAP_DAC_READ_SEARCH)');
    const ganesha = await findBinary(['/usr/bin/ganesha.nfsd', '/usr/sbin/ganesha.nfsd']);
    if (!ganesha || !(await vfsFsalInstalled())) throw failedPrecondition(`nfs-ganesha with its VFS backend is not installed; apt-get install --no-install-recommends ${EMBEDDED_NFS_PACKAGES}`);
    const localDir = await realpath(this.options.exportDir).catch(() => {
      throw failedPrecondition(`the folder to serve, ${this.options.exportDir}, does not exist`);
    });
    if (!(await stat(localDir)).isDirectory()) throw failedPrecondition(`the folder to serve, ${localDir}, is not a directory`);
    await mkdir(this.path('recovery'), { recursive: true, mode: 0o700 });
    const config = ganeshaConfig({
      bindAddress: EMBEDDED_NFS_ADDRESS,
      nfsPort: this.nfsPort,
      mountPort: this.mountPort,
      exportDir: localDir,
      pseudoPath: this.pseudoPath,
      recoveryDir: this.path('recovery'),
    });

    const running = await this.runningPid();
    if (running !== undefined) {
      const same = (await readFile(this.configFile, 'utf8').catch(() => '')) === config;
      if (same && (await acceptsTcp(EMBEDDED_NFS_ADDRESS, this.nfsPort))) return this.info(localDir, running, true, 0);
      this.options.logger?.info({ pid: running }, 'embedded NFS server runs with another configuration: restarting it');
      await terminate(running, this.options.stopTimeoutMs ?? 10_000);
    }
    for (const port of [this.nfsPort, this.mountPort]) {
      if (await acceptsTcp(EMBEDDED_NFS_ADDRESS, port)) {
        throw failedPrecondition(`${EMBEDDED_NFS_ADDRESS}:${port} is already served by another program (not the embedded NFS server of ${this.options.stateDir}); stop it first`);
      }
    }
    if (this.options.forgetClients) {
      await rm(this.path('recovery'), { recursive: true, force: true });
      await mkdir(this.path('recovery'), { mode: 0o700 });
    }
    const startedRpcbind = await this.ensureRpcbind();
    try {
      await this.writeConfig(config);
      const { pid, ms } = await this.spawnGanesha(ganesha);
      return this.info(localDir, pid, false, ms);
    } catch (e) {
      if (startedRpcbind) await this.stopRpcbind();
      throw e;
    }
  }

  private info(localDir: string, pid: number, reused: boolean, startMs: number): EmbeddedNfsServerInfo {
    return {
      server: EMBEDDED_NFS_ADDRESS,
      share: this.pseudoPath,
      localDir,
      localPathMapping: `${EMBEDDED_NFS_ADDRESS}:${this.pseudoPath}=${localDir}`,
      nfsPort: this.nfsPort,
      mountPort: this.mountPort,
      pid,
      reused,
      startMs,
      logFile: this.logFile,
    };
  }

  private async writeConfig(config: string): Promise<void> {
    const tmp = `${this.configFile}.tmp-${process.pid}`;
    await rm(tmp, { force: true });
    await writeNewFileDurably(tmp, config, 0o600);
    await rename(tmp, this.configFile);
    // Ganesha appends to its log forever; keep one old generation.
    if (((await stat(this.logFile).catch(() => undefined))?.size ?? 0) > MAX_LOG_BYTES) await rename(this.logFile, `${this.logFile}.old`);
  }

  /** Starts rpcbind unless one runs; true when this call started it. */
  private async ensureRpcbind(): Promise<boolean> {
    if (await acceptsTcp(EMBEDDED_NFS_ADDRESS, RPCBIND_PORT)) return false;
    const bin = await findBinary(['/usr/sbin/rpcbind', '/sbin/rpcbind', '/usr/bin/rpcbind']);
    if (!bin) throw failedPrecondition(`rpcbind is not installed (nfs-ganesha needs it); apt-get install --no-install-recommends ${EMBEDDED_NFS_PACKAGES}`);
    // Not -w: registrations of a previous run would point at servers that are gone.
    const child = spawn(bin, ['-f'], { detached: true, stdio: 'ignore' });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `${bin} -f could not be started`);
    await rm(`${this.rpcbindPidFile}.tmp`, { force: true });
    await writeNewFileDurably(`${this.rpcbindPidFile}.tmp`, `${pid}\n`, 0o600);
    await rename(`${this.rpcbindPidFile}.tmp`, this.rpcbindPidFile);
    const deadline = Date.now() + 10_000;
    while (!(await acceptsTcp(EMBEDDED_NFS_ADDRESS, RPCBIND_PORT))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await this.stopRpcbind();
        throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `rpcbind -f did not start listening on port ${RPCBIND_PORT} (exit code ${child.exitCode ?? 'none yet'})`);
      }
      await sleep(20);
    }
    this.options.logger?.info({ pid }, 'started rpcbind for the embedded NFS server');
    return true;
  }

  private async spawnGanesha(bin: string): Promise<{ pid: number; ms: number }> {
    const logStart = (await stat(this.logFile).catch(() => undefined))?.size ?? 0;
    const stderrFile = this.path('ganesha.stderr');
    const out = await open(stderrFile, 'w', 0o600);
    const t0 = performance.now();
    const child = spawn(bin, ['-F', '-f', this.configFile, '-L', this.logFile, '-p', this.pidFile, '-N', 'NIV_EVENT'], { detached: true, stdio: ['ignore', out.fd, out.fd] });
    await out.close();
    child.unref();
    let exit: string | undefined;
    child.once('exit', (code, sig) => (exit = sig ? `killed by ${sig}` : `exit code ${code}`));
    child.once('error', (e) => (exit = e.message));
    const why = async (what: string) => {
      const stderr = await tailOf(stderrFile, 5);
      return `${what}; ${await startProblems(this.logFile, logStart)}${stderr ? `\nstderr:\n${stderr}` : ''}`;
    };
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 15_000);
    for (;;) {
      if (exit !== undefined) throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', await why(`ganesha.nfsd stopped while starting (${exit})`));
      // The port opens a moment before the server is complete; the log line marks the end of its start.
      if ((await acceptsTcp(EMBEDDED_NFS_ADDRESS, this.nfsPort)) && (await tailOf(this.logFile, 1000, logStart)).includes('NFS SERVER INITIALIZED')) break;
      if (Date.now() > deadline) {
        const error = new PassvolError('PV_ERR_TIMEOUT', await why(`ganesha.nfsd did not serve ${EMBEDDED_NFS_ADDRESS}:${this.nfsPort} within ${this.options.startTimeoutMs ?? 15_000} ms`));
        if (child.pid !== undefined) await terminate(child.pid, 2_000);
        throw error;
      }
      await sleep(20);
    }
    const ms = Math.round(performance.now() - t0);
    if (child.pid === undefined) throw new PassvolError('PV_ERR_INTERNAL', 'ganesha.nfsd has no pid');
    // Ganesha serves on with an export it could not load; ask the MOUNT service, as a client would.
    const exports = await (this.options.exec ?? systemExec).run('showmount', ['-e', EMBEDDED_NFS_ADDRESS], { timeoutMs: 10_000 }).catch((e: unknown) => ({ stdout: String(e) }));
    if (!exports.stdout.split('\n').some((l) => l.split(/\s+/)[0] === this.pseudoPath)) {
      const error = new PassvolError('PV_ERR_EXTERNAL_COMMAND', await why(`ganesha.nfsd started without exporting ${this.pseudoPath} (showmount -e: ${exports.stdout.trim()})`));
      await terminate(child.pid, 2_000);
      throw error;
    }
    this.options.logger?.info({ pid: child.pid, ms }, 'embedded NFS server started');
    return { pid: child.pid, ms };
  }

  /** Stops ganesha (SIGTERM, then SIGKILL) and rpcbind if this state folder started it. Idempotent. */
  async stop(): Promise<void> {
    const pid = await this.runningPid();
    if (pid !== undefined) {
      const how = await terminate(pid, this.options.stopTimeoutMs ?? 10_000);
      if (how === 'killed') this.options.logger?.warn({ pid }, 'ganesha.nfsd ignored SIGTERM and was killed');
    }
    await rm(this.pidFile, { force: true });
    await this.stopRpcbind();
  }

  private async stopRpcbind(): Promise<void> {
    const pid = await readPidFile(this.rpcbindPidFile);
    if (pid !== undefined && (await isProgram(pid, 'rpcbind'))) await terminate(pid, 5_000);
    await rm(this.rpcbindPidFile, { force: true });
  }
}

