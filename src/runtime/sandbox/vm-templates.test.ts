import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { templateKey, VmTemplates, type MakeTemplate, type TemplateBuild, type TemplateShape } from './vm-templates.js';

const log = pino({ level: 'silent' });

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-tpl-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A guest image whose files exist (a template of an image that is gone is swept). */
const images = scratch();
for (const f of ['vmlinux', 'initramfs.cpio', 'agent.ext4']) writeFileSync(join(images, f), '');
const shape: TemplateShape = {
  image: { kernel: join(images, 'vmlinux'), initrd: join(images, 'initramfs.cpio'), agentDisk: join(images, 'agent.ext4'), agentDiskSerial: 'passvol-agent', agentPortName: 'passvol.agent', cmdline: 'console=ttyS0' },
  memoryMiB: 512,
  cpus: 1,
};

/** A maker that writes what QEMU would (RAM and state files) without a VM; `ready` is never called. */
function fakeMaker(calls: TemplateBuild[], fail?: string): MakeTemplate {
  return async (build) => {
    calls.push(build);
    await new Promise((r) => setTimeout(r, 20));
    if (fail) {
      mkdirSync(build.stateDir, { recursive: true });
      writeFileSync(join(build.stateDir, 'console.log'), 'passvol-init: up at 1.80 s\npassvol-init: no virtio disk with serial passvol-agent\n');
      throw new Error(fail);
    }
    writeFileSync(build.memoryFile, 'ram');
    writeFileSync(build.stateFile, 'state');
  };
}

test('the key follows every input the saved guest depends on', () => {
  const k = templateKey(shape);
  assert.match(k, /^[0-9a-f]{16}$/);
  assert.equal(templateKey({ ...shape }), k);
  assert.notEqual(templateKey({ ...shape, memoryMiB: 1024 }), k);
  assert.notEqual(templateKey({ ...shape, cpus: 2 }), k);
  assert.notEqual(templateKey({ ...shape, image: { ...shape.image, agentDisk: '/img/a-2/agent.ext4' } }), k, 'a rebuilt image has new content-addressed paths');
  assert.notEqual(templateKey({ ...shape, image: { ...shape.image, cmdline: 'console=ttyS0 quiet' } }), k);
});

test('concurrent sandboxes wait for one make; later ones find the template on disk', async () => {
  const root = scratch();
  const calls: TemplateBuild[] = [];
  const templates = new VmTemplates({ root, make: fakeMaker(calls), log });
  const [a, b] = await Promise.all([templates.get(shape), templates.get(shape)]);
  assert.equal(calls.length, 1);
  assert.deepEqual(a, b);
  assert.equal(a?.dir, join(root, templateKey(shape)));
  assert.ok(existsSync(a?.memoryFile ?? '') && existsSync(a?.stateFile ?? ''));
  assert.deepEqual(readdirSync(root), [templateKey(shape)], 'the make folder was renamed into place');
  assert.match(calls[0]?.stateDir ?? '', /\/\.make-[0-9a-f]{16}-\d+\/vm$/);

  const again = new VmTemplates({ root, make: fakeMaker(calls), log });
  assert.deepEqual(await again.get(shape), a);
  assert.equal(calls.length, 1, 'another process finds it');
  const [info] = await again.list();
  assert.equal(info?.key, templateKey(shape));
  assert.ok((info?.makeMs ?? -1) >= 0);

  await again.discard(a as NonNullable<typeof a>);
  await again.get(shape);
  assert.equal(calls.length, 2, 'a discarded template is made again');
  assert.equal(await again.removeAll(), 1);
  assert.deepEqual(readdirSync(root), []);
});

test('a failed make leaves nothing behind, says why, and is not tried again for a while', async () => {
  const root = scratch();
  const calls: TemplateBuild[] = [];
  const templates = new VmTemplates({ root, make: fakeMaker(calls, 'the guest did not answer'), log });
  await assert.rejects(templates.get(shape), /cannot make a VM template: the guest did not answer; the guest's console ended: passvol-init: up at 1\.80 s \/ passvol-init: no virtio disk/);
  assert.deepEqual(readdirSync(root), [`.failed-${templateKey(shape)}`], 'only the note of the failure');
  await assert.rejects(templates.get(shape), /failed \d+ s ago/);
  assert.equal(calls.length, 1, 'the second sandbox boots instead of paying another failed make');
});

test('makes in two processes: one makes, the other waits for its lock and finds the template', async () => {
  const root = scratch();
  const key = templateKey(shape);
  // Another live process (this test's parent shell stands in) holds the lock, then makes the template.
  mkdirSync(join(root, `.lock-${key}`));
  writeFileSync(join(root, `.lock-${key}`, 'pid'), String(process.ppid));
  const calls: TemplateBuild[] = [];
  const waiting = new VmTemplates({ root, make: fakeMaker(calls), log }).get(shape);
  await new Promise((r) => setTimeout(r, 300));
  const other = new VmTemplates({ root, make: fakeMaker([]), log });
  rmSync(join(root, `.lock-${key}`), { recursive: true });
  const made = await other.get(shape);
  assert.deepEqual(await waiting, made);
  assert.equal(calls.length <= 1, true);
  // A lock whose holder died is taken over at once.
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  mkdirSync(join(root, `.lock-${key}`));
  writeFileSync(join(root, `.lock-${key}`, 'pid'), String(dead.pid));
  rmSync(join(root, key), { recursive: true });
  await new VmTemplates({ root, make: fakeMaker([]), log, lockWaitMs: 1000 }).get(shape);
  assert.ok(!existsSync(join(root, `.lock-${key}`)));
});

test('a template whose image is gone is swept; a folder others can write is refused', async () => {
  const root = scratch();
  const img = scratch();
  for (const f of ['vmlinux', 'initramfs.cpio', 'agent.ext4']) writeFileSync(join(img, f), '');
  const old: TemplateShape = { ...shape, image: { ...shape.image, kernel: join(img, 'vmlinux'), initrd: join(img, 'initramfs.cpio'), agentDisk: join(img, 'agent.ext4') } };
  await new VmTemplates({ root, make: fakeMaker([]), log }).get(old);
  rmSync(join(img, 'agent.ext4'));
  await new VmTemplates({ root, make: fakeMaker([]), log }).get(shape);
  assert.deepEqual(readdirSync(root), [templateKey(shape)], 'the old image\'s template went');
  chmodSync(root, 0o777);
  await assert.rejects(new VmTemplates({ root, make: fakeMaker([]), log }).get(shape), /writable by no one else \(mode 777\)/);
});

test('a template folder without its files is not used', async () => {
  const root = scratch();
  const dir = join(root, templateKey(shape));
  mkdirSync(dir);
  writeFileSync(join(dir, 'template.json'), JSON.stringify({ format: 2, key: templateKey(shape), shape, madeAt: '', makeMs: 1 }));
  const calls: TemplateBuild[] = [];
  const t = await new VmTemplates({ root, make: fakeMaker(calls), log }).get(shape);
  assert.equal(calls.length, 1, 'it is made again, in its place');
  assert.ok(existsSync(t.stateFile));
});

test("a dead maker's unfinished template is removed, with the VM still running from it", async () => {
  const root = scratch();
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  const stale = join(root, `.make-0123456789abcdef-${dead.pid}`);
  mkdirSync(stale);
  // Stands in for a QEMU whose arguments name the folder.
  const vm = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 600_000)', `${stale}/ram`], { stdio: 'ignore' });
  const exited = new Promise((r) => vm.once('exit', r));
  await new VmTemplates({ root, make: fakeMaker([]), log }).get(shape);
  await exited;
  assert.ok(!existsSync(stale));
  assert.equal(vm.signalCode, 'SIGKILL');
});

test('a RAM copy a crashed clone left beside the template goes; a fresh one (a clone starting) stays', async () => {
  const root = scratch();
  const templates = new VmTemplates({ root, make: fakeMaker([]), log });
  const t = await templates.get(shape);
  const stale = `${t.memoryFile}.clone-passvol-a`;
  const fresh = `${t.memoryFile}.clone-passvol-b`;
  writeFileSync(stale, 'ram');
  writeFileSync(fresh, 'ram');
  const old = new Date(Date.now() - 120_000);
  utimesSync(stale, old, old);
  await new VmTemplates({ root, make: fakeMaker([]), log }).get(shape);
  assert.ok(!existsSync(stale));
  assert.ok(existsSync(fresh));
});

test('gc removes what a crashed maker left, with its VM, and nothing else', async () => {
  const root = scratch();
  const templates = new VmTemplates({ root, make: fakeMaker([]), log });
  assert.deepEqual(await new VmTemplates({ root: join(root, 'none'), make: fakeMaker([]), log }).cleanUp(), [], 'no folder, nothing to do');
  await templates.get(shape);
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  const stale = `.make-0123456789abcdef-${dead.pid}`;
  mkdirSync(join(root, stale));
  const vm = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 600_000)', `${join(root, stale)}/ram`], { stdio: 'ignore' });
  const exited = new Promise((r) => vm.once('exit', r));
  assert.deepEqual(await templates.cleanUp(), [stale]);
  await exited;
  assert.deepEqual(readdirSync(root), [templateKey(shape)], 'the good template stays');
});
