// VM templates: boot one guest to a ready agent with every module loaded, save it, and start later
// sandboxes of the same shape from it instead of booting (Kata's "VM templating", opt-in there too).
// Under TCG a boot to a ready agent takes ~4 s; a restore ~0.4 s.
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
import { createHash } from 'node:crypto';
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
const FORMAT = 1;
const MODULES_WAIT_MS = 60_000;
const MAKE_PREFIX = '.make-';
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
    private readonly o: { root: string; make: MakeTemplate; log: Logger; agentTimeoutMs?: number },
  ) {}

  /** The template for this shape, made now (one boot, ~4 s under TCG) if there is none. */
  get(shape: TemplateShape): Promise<VmTemplate> {
    const key = templateKey(shape);
    const inFlight = this.making.get(key);
    if (inFlight) return inFlight;
    const p = this.find(key)
      .then((found) => found ?? this.make(key, shape))
      .finally(() => this.making.delete(key));
    this.making.set(key, p);
    return p;
  }

  /** Drops a template a clone could not start from (another QEMU, say); the next sandbox makes a new one. */
  async discard(t: VmTemplate): Promise<void> {
    await rm(t.dir, { recursive: true, force: true });
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
      n++;
    }
    return n;
  }

  private async read(dir: string): Promise<TemplateInfo | undefined> {
    const raw = await readFile(join(dir, 'template.json'), 'utf8').catch(() => undefined);
    if (raw === undefined) return undefined;
    const parsed = TemplateJson.safeParse(JSON.parse(raw));
    return parsed.success ? { ...parsed.data, dir } : undefined;
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

  /** Unfinished makes whose maker died: their VM is killed and their folder removed. */
  private async sweep(): Promise<void> {
    for (const name of await readdir(this.o.root).catch(() => [] as string[])) {
      const pid = Number(/^\.make-[0-9a-f]+-(\d+)$/.exec(name)?.[1]);
      if (pid && !pidAlive(pid)) {
        this.o.log.warn({ folder: name }, 'removing the unfinished VM template of a maker that died');
        await this.removeMake(join(this.o.root, name));
      }
    }
  }

  private async make(key: string, shape: TemplateShape): Promise<VmTemplate> {
    await mkdir(this.o.root, { recursive: true, mode: 0o700 });
    const fsType = await notTmpfs(this.o.root);
    if (fsType) {
      this.o.log.warn({ root: this.o.root, fsType }, 'the VM templates folder is not a tmpfs: the RAM of templates and of their clones will be disk files');
    }
    await this.sweep();
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
      const dir = join(this.o.root, key);
      // A folder there without its files (a crash mid-discard) would block the rename for good.
      const theirs = await this.find(key);
      if (theirs) {
        await this.removeMake(work);
        return theirs;
      }
      await rm(dir, { recursive: true, force: true });
      try {
        await rename(work, dir);
      } catch (e) {
        // Another process made it meanwhile: use theirs.
        const theirs = await this.find(key);
        if (!theirs) throw e;
        await this.removeMake(work);
        return theirs;
      }
      log.info({ makeMs }, 'VM template made');
      return filesOf(dir);
    } catch (e) {
      // The guest's last words go into the error: the folder with its console log is removed.
      const console = (await readFile(join(work, 'vm', 'console.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' / ');
      await this.removeMake(work);
      throw new PassvolError('PV_ERR_EXTERNAL_COMMAND', `cannot make a VM template: ${(e as Error).message}${console ? `; the guest's console ended: ${console}` : ''}`, { cause: e });
    }
  }

  /** The template's agent answers and init has loaded every module, so clones need load nothing. */
  private async agentSettled(socket: string, log: Logger): Promise<void> {
    const agent = await AgentClient.connect(socket, log.child({ part: 'agent' }), 10_000);
    try {
      await agent.waitReady(this.o.agentTimeoutMs ?? 60_000);
      const deadline = Date.now() + MODULES_WAIT_MS;
      while (!(await agent.call('ping', {}, 5_000)).modulesReady) {
        if (Date.now() > deadline) throw new PassvolError('PV_ERR_TIMEOUT', `the template's guest did not load its modules within ${MODULES_WAIT_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      agent.close();
    }
  }
}
