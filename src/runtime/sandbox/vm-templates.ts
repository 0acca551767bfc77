// VM templates: boot one guest to a ready agent with every module loaded, save it, and start later
// sandboxes of the same shape from it instead of booting (Kata's "VM templating", opt-in there too).
// Under TCG a boot to a ready agent takes 5-6.5 s; a restore, with its shares hot-plugged and clock set, ~0.8 s.
//
// A template is a folder <root>/<key>/ holding `ram` (the guest's RAM), `state` (QEMU's device state)
// and `template.json`. The key hashes everything the saved guest depends on: the image's files (their
// paths are content-addressed), its kernel command line, memory and CPUs. A template is made in a
// `.make-<key>-<pid>` folder and renamed into place, so a crash leaves no half template, only a folder
// the next maker removes (with any VM still running from it).
//
// What clones share, and so what this trades away (why it is off by default): the guest kernel's address
// layout (KASLR) and every secret the template held in memory before it was saved. The kernel reseeds
// its random number generator when a clone starts (the VM generation id changes), and each clone gets
// a private copy of the RAM, so no memory pages are shared between sandboxes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PassvolError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { pidAlive, processesNaming } from '../../common/processes.js';
import { notTmpfs } from '../../common/tmpfs.js';
import { AgentClient } from '../agent-client.js';
import type { GuestImagePaths, VmTemplate } from './sandbox-vm.js';

export type { VmTemplate };

export const DEFAULT_TEMPLATE_ROOT = '/run/passvol/templates';
/** Part of every key: bump it when a template's machine changes (devices, firmware), which old templates lack. */
const FORMAT = 2;
const MODULES_WAIT_MS = 60_000;
/** setClock's second step runs within a second; a bit more for the command itself under TCG. */
const CLOCK_STEP_DONE_MS = 2_000;
const MAKE_PREFIX = '.make-';
const LOCK_PREFIX = '.lock-';
const FAILED_PREFIX = '.failed-';
const DISCARD_PREFIX = '.discard-';
/** A make takes ~9 s under TCG; a waiter gives the holder this long. */
const LOCK_WAIT_MS = 180_000;
const LOCK_POLL_MS = 200;
/** A lock folder whose holder never wrote its pid (killed in between). */
const STALE_LOCK_MS = 10_000;
/** After a failed make, sandboxes boot without trying again for this long (each try costs a boot). */
const RETRY_AFTER_FAILURE_MS = 10 * 60_000;
const TEMPLATE_FILES = new Set(['ram', 'state', 'template.json']);
const STALE_COPY_MS = 60_000;

export interface TemplateShape {
  image: GuestImagePaths;
  memoryMiB: number;
  cpus: number;
}

/** Where a template is made: the maker boots the VM there and saves it when `ready` resolves. */
export interface TemplateBuild {
  shape: TemplateShape;
  name: string;
  memoryFile: string;
  stateFile: string;
  stateDir: string;
  agentSocket: string;
}

/** Boots a VM with its RAM in `memoryFile`, waits for `ready(agentSocket)`, then saves it to `stateFile`. */
export type MakeTemplate = (build: TemplateBuild, ready: (agentSocket: string) => Promise<void>) => Promise<void>;

const TemplateShapeJson = z.object({ image: z.object({ kernel: z.string(), initrd: z.string(), agentDisk: z.string() }).passthrough() }).passthrough();
const TemplateJson = z.object({ format: z.literal(FORMAT), key: z.string(), shape: z.unknown(), madeAt: z.string(), makeMs: z.number() }).passthrough();
export type TemplateInfo = z.infer<typeof TemplateJson> & { dir: string };

export function templateKey(shape: TemplateShape): string {
  const { image } = shape;
  const inputs = [FORMAT, image.kernel, image.initrd, image.agentDisk, image.agentDiskSerial, image.agentPortName, image.cmdline, shape.memoryMiB, shape.cpus];
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

const filesOf = (dir: string): VmTemplate => ({ dir, memoryFile: join(dir, 'ram'), stateFile: join(dir, 'state') });
const exists = (p: string) => stat(p).then(() => true, () => false);

export class VmTemplates {
  /** Makes in flight in this process, by key: concurrent sandboxes wait for one make. */
  private readonly making = new Map<string, Promise<VmTemplate>>();

  constructor(
    private readonly o: { root: string; make: MakeTemplate; log: Logger; agentTimeoutMs?: number; lockWaitMs?: number },
  ) {}

  /** The folder alone, for listing, removing and cleaning up: it makes no template (and needs no image). */
  static folder(root: string, log: Logger): VmTemplates {
    return new VmTemplates({ root, make: () => Promise.reject(new PassvolError('PV_ERR_INTERNAL', 'this templates folder makes no template')), log });
  }

  /**
   * The template for this shape, made now (one boot, ~9 s under TCG) if there is none. One process makes
   * it while the others wait (a lock folder per key); after a failed make, none is tried for a while.
   */
  get(shape: TemplateShape): Promise<VmTemplate> {
    const key = templateKey(shape);
    const inFlight = this.making.get(key);
    if (inFlight) return inFlight;
    const p = this.getOrMake(key, shape).finally(() => this.making.delete(key));
    this.making.set(key, p);
    return p;
  }

  /** Drops a template a clone could not start from (another QEMU, say); the next sandbox makes a new one. */
  async discard(t: VmTemplate): Promise<void> {
    await this.removeAside(t.dir);
    this.o.log.warn({ template: t.dir }, 'VM template discarded');
  }

  async list(): Promise<TemplateInfo[]> {
    const out: TemplateInfo[] = [];
    for (const name of await readdir(this.o.root).catch(() => [] as string[])) {
      if (name.startsWith('.')) continue;
      const info = await this.read(join(this.o.root, name));
      if (info) out.push(info);
    }
    return out;
  }

  /** Removes every template and every unfinished make (running clones keep their own copy of the RAM). */
  async removeAll(): Promise<number> {
    let n = 0;
    for (const name of await readdir(this.o.root).catch(() => [] as string[])) {
      if (name.startsWith(MAKE_PREFIX)) await this.removeMake(join(this.o.root, name));
      else await rm(join(this.o.root, name), { recursive: true, force: true });
      if (!name.startsWith('.')) n++;
    }
    return n;
  }

  /**
   * What `passvol gc` runs: removes what crashed makers left (and their VMs, which would otherwise run on
   * until the next sandbox that uses templates) and templates whose image is gone. Returns what it removed.
   */
  async cleanUp(): Promise<string[]> {
    if (!(await exists(this.o.root))) return [];
    const before = new Set(await readdir(this.o.root));
    await this.sweep();
    const after = new Set(await readdir(this.o.root));
    return [...before].filter((n) => !after.has(n) && !n.startsWith(DISCARD_PREFIX));
  }

  /** Forgets failed makes, so the next get tries again at once (`passvol template make`). */
  async forgetFailures(): Promise<void> {
    for (const name of await readdir(this.o.root).catch(() => [] as string[])) {
      if (name.startsWith(FAILED_PREFIX)) await rm(join(this.o.root, name), { force: true });
    }
  }

  private async getOrMake(key: string, shape: TemplateShape): Promise<VmTemplate> {
    await this.checkRoot();
    await this.sweep();
    const found = await this.find(key);
    if (found) return found;
    const failedAt = Number(await readFile(join(this.o.root, `${FAILED_PREFIX}${key}`), 'utf8').catch(() => '0'));
    if (Date.now() - failedAt < RETRY_AFTER_FAILURE_MS) {
      throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `making this VM template failed ${Math.round((Date.now() - failedAt) / 1000)} s ago (see the log then); the next try is after ${RETRY_AFTER_FAILURE_MS / 60_000} min`);
    }
    return this.withMakeLock(key, async () => (await this.find(key)) ?? this.make(key, shape));
  }

  /** The root must be ours alone: a template planted by another user would run as a sandbox's guest. */
  private async checkRoot(): Promise<void> {
    await mkdir(this.o.root, { recursive: true, mode: 0o700 });
    const st = await stat(this.o.root);
    const uid = process.getuid?.();
    if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      throw new PassvolError('PV_ERR_FAILED_PRECONDITION', `the VM templates folder ${this.o.root} must be owned by uid ${uid} and writable by no one else (mode ${(st.mode & 0o777).toString(8)})`);
    }
  }

  /**
   * Runs `fn` holding the make lock for `key` (a folder naming its holder's pid, so one left by a process
   * that died is taken over). Other processes wait, then find the template the holder made.
   */
  private async withMakeLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lock = join(this.o.root, `${LOCK_PREFIX}${key}`);
    const deadline = Date.now() + (this.o.lockWaitMs ?? LOCK_WAIT_MS);
    for (;;) {
      try {
        await mkdir(lock);
        await writeFile(join(lock, 'pid'), String(process.pid));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if ((holder && !pidAlive(holder)) || (!holder && age > STALE_LOCK_MS)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new PassvolError('PV_ERR_TIMEOUT', `another process (pid ${holder}) has been making VM template ${key} for too long`);
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }

  private async read(dir: string): Promise<TemplateInfo | undefined> {
    try {
      const parsed = TemplateJson.safeParse(JSON.parse(await readFile(join(dir, 'template.json'), 'utf8')));
      return parsed.success ? { ...parsed.data, dir } : undefined;
    } catch {
      return undefined;
    }
  }

  private async find(key: string): Promise<VmTemplate | undefined> {
    const dir = join(this.o.root, key);
    const info = await this.read(dir);
    if (!info) return undefined;
    const t = filesOf(dir);
    if (!(await exists(t.memoryFile)) || !(await exists(t.stateFile))) return undefined;
    await this.sweepCopies(dir);
    return t;
  }

  /**
   * A clone's RAM copy is made beside the template's (same tmpfs) and unlinked once its QEMU maps it; one
   * older than a minute was left by a crash in between.
   */
  private async sweepCopies(dir: string): Promise<void> {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (TEMPLATE_FILES.has(name)) continue;
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_COPY_MS) await rm(join(dir, name), { force: true });
    }
  }

  private async removeMake(dir: string): Promise<void> {
    for (const pid of processesNaming(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await rm(dir, { recursive: true, force: true });
  }

  /** Renamed out of the way first, so no reader ever sees a half-removed template. */
  private async removeAside(dir: string): Promise<void> {
    const aside = join(this.o.root, `${DISCARD_PREFIX}${randomBytes(4).toString('hex')}`);
    await rename(dir, aside).catch(() => undefined);
    await rm(aside, { recursive: true, force: true });
  }

  /**
   * What crashes and upgrades leave: unfinished makes of makers that died (their VM is killed), templates
   * whose image files are gone (a rebuilt image has new content-addressed paths, so a new key), and
   * discards a crash interrupted.
   */
  private async sweep(): Promise<void> {
    for (const name of await readdir(this.o.root).catch(() => [] as string[])) {
      const dir = join(this.o.root, name);
      const maker = Number(/^\.make-[0-9a-f]+-(\d+)$/.exec(name)?.[1]);
      if (maker && !pidAlive(maker)) {
        this.o.log.warn({ folder: name }, 'removing the unfinished VM template of a maker that died');
        await this.removeMake(dir);
      } else if (name.startsWith(DISCARD_PREFIX)) {
        await rm(dir, { recursive: true, force: true });
      } else if (!name.startsWith('.')) {
        const image = (TemplateShapeJson.safeParse((await this.read(dir))?.shape).data as TemplateShape | undefined)?.image;
        const gone = image ? !(await exists(image.kernel)) || !(await exists(image.initrd)) || !(await exists(image.agentDisk)) : false;
        if (gone) {
          this.o.log.info({ template: name }, 'removing a VM template whose guest image is gone');
          await this.removeAside(dir);
        }
      }
    }
  }

  private async make(key: string, shape: TemplateShape): Promise<VmTemplate> {
    const fsType = await notTmpfs(this.o.root);
    if (fsType) {
      this.o.log.warn({ root: this.o.root, fsType }, 'the VM templates folder is not a tmpfs: the RAM of templates and of their clones will be disk files');
    }
    const work = join(this.o.root, `${MAKE_PREFIX}${key}-${process.pid}`);
    await this.removeMake(work);
    await mkdir(work, { mode: 0o700 });
    const started = Date.now();
    const files = filesOf(work);
    const log = this.o.log.child({ template: key });
    log.info('making a VM template (one boot)');
    try {
      await this.o.make(
        { shape, name: `passvol-template-${key}`, memoryFile: files.memoryFile, stateFile: files.stateFile, stateDir: join(work, 'vm'), agentSocket: join(work, 'agent.sock') },
        (socket) => this.agentSettled(socket, log),
      );
      const makeMs = Date.now() - started;
      await writeFile(join(work, 'template.json'), `${JSON.stringify({ format: FORMAT, key, shape, madeAt: new Date().toISOString(), makeMs }, null, 2)}\n`);
      await rm(join(work, 'vm'), { recursive: true, force: true });
      // Under the make lock: a folder already there is a broken one (no template was found), so it goes.
      const dir = join(this.o.root, key);
      await this.removeAside(dir);
      await rename(work, dir);
      await rm(join(this.o.root, `${FAILED_PREFIX}${key}`), { force: true });
      log.info({ makeMs }, 'VM template made');
      return filesOf(dir);
    } catch (e) {
      // The guest's last words go into the error: the folder with its console log is removed.
      const console = (await readFile(join(work, 'vm', 'console.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' / ');
      await this.removeMake(work);
      await writeFile(join(this.o.root, `${FAILED_PREFIX}${key}`), String(Date.now())).catch(() => undefined);
      throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `cannot make a VM template: ${(e as Error).message}${console ? `; the guest's console ended: ${console}` : ''}`, { cause: e });
    }
  }

  /** The template's agent answers and init has loaded every module, so clones need load nothing. */
  private async agentSettled(socket: string, log: Logger): Promise<void> {
    const agent = await AgentClient.connect(socket, log.child({ part: 'agent' }), 10_000);
    try {
      await agent.waitReady(this.o.agentTimeoutMs ?? 60_000);
      // Under TCG an agent's first command costs ~0.3 s more than the next ones: paid here, once, rather
      // than by every clone's own setClock. Its second step (on the next second boundary) is over before
      // the save, since the modules take longer than that and the wait below makes sure.
      const clockSet = Date.now();
      await agent.call('setClock', { epochMs: Date.now() });
      const deadline = Date.now() + MODULES_WAIT_MS;
      while (!(await agent.call('ping', {}, 5_000)).modulesReady) {
        if (Date.now() > deadline) throw new PassvolError('PV_ERR_TIMEOUT', `the template's guest did not load its modules within ${MODULES_WAIT_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, clockSet + CLOCK_STEP_DONE_MS - Date.now())));
    } finally {
      agent.close();
    }
  }
}
