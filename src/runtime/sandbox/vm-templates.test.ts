import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { templateKey, VmTemplates, type MakeTemplate, type TemplateBuild, type TemplateShape } from './vm-templates.js';

const shape: TemplateShape = {
  image: { kernel: '/img/k-1/vmlinux', initrd: '/img/i-1/initramfs.cpio', agentDisk: '/img/a-1/agent.ext4', agentDiskSerial: 'passvol-agent', agentPortName: 'passvol.agent', cmdline: 'console=ttyS0' },
  memoryMiB: 512,
  cpus: 1,
};
const log = pino({ level: 'silent' });

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-tpl-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

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

test('a failed make leaves nothing behind and says why', async () => {
  const root = scratch();
  const templates = new VmTemplates({ root, make: fakeMaker([], 'the guest did not answer'), log });
  await assert.rejects(templates.get(shape), /cannot make a VM template: the guest did not answer; the guest's console ended: passvol-init: up at 1\.80 s \/ passvol-init: no virtio disk/);
  assert.deepEqual(readdirSync(root), []);
});

test('a template folder without its files is not used', async () => {
  const root = scratch();
  const dir = join(root, templateKey(shape));
  mkdirSync(dir);
  writeFileSync(join(dir, 'template.json'), JSON.stringify({ format: 1, key: templateKey(shape), shape, madeAt: '', makeMs: 1 }));
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
