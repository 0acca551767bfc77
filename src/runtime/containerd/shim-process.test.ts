import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupOf, shimSocketPath, startShim } from './shim-process.js';
import { sandboxIdOf } from './task-service.js';

function bundle(t: { after(fn: () => void): void }, annotations: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-shimproc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations }));
  return dir;
}

test("a pod's tasks share a group: runc's group annotation, then CRI's sandbox id, else the task's own id", async (t) => {
  assert.equal(await groupOf(bundle(t, { 'io.containerd.runc.v2.group': 'g', 'io.kubernetes.cri.sandbox-id': 's' }), 'x'), 'g');
  assert.equal(await groupOf(bundle(t, { 'io.kubernetes.cri.sandbox-id': 's' }), 'x'), 's');
  assert.equal(await groupOf(bundle(t, {}), 'x'), 'x');
  await assert.rejects(groupOf('/nonexistent', 'x'), /config.json/);
});

test("the socket is named as containerd names its shims': sha256 of address/namespace/group", () => {
  const hex = createHash('sha256').update('/run/containerd/containerd.sock/k8s.io/pod').digest('hex');
  assert.equal(shimSocketPath('/run/containerd/containerd.sock', 'k8s.io', 'pod'), `/run/containerd/s/${hex}`);
  assert.throws(() => shimSocketPath('/a', 'b', 'c', `/${'d'.repeat(60)}`), /longer than 106/);
});

test('start with a shim already listening for the pod prints its address and writes it into the bundle, spawning nothing', async (t) => {
  const dir = bundle(t, { 'io.kubernetes.cri.sandbox-id': 'pod1' });
  const sockets = mkdtempSync(join(tmpdir(), 'passvol-s-'));
  t.after(() => rmSync(sockets, { recursive: true, force: true }));
  const flags = { namespace: 'k8s.io', address: '/run/containerd/containerd.sock', publishBinary: '', id: 'c1', debug: false };
  const socket = shimSocketPath(flags.address, flags.namespace, 'pod1', sockets);
  const server = createServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen(socket, r));
  t.after(() => server.close());
  const address = await startShim({ flags, bundleDir: dir, argv: ['/nonexistent/shim'], socketDir: sockets });
  assert.equal(address, `unix://${socket}`);
  assert.equal(readFileSync(join(dir, 'address'), 'utf8'), address);
});

test("a sandbox's id: a short task id as it is; CRI's 64 hex digits cut to a prefix and a hash that still tell ids apart", () => {
  assert.equal(sandboxIdOf('pod1'), 'pod1');
  const a = sandboxIdOf('a'.repeat(64));
  const b = sandboxIdOf(`${'a'.repeat(63)}b`);
  assert.equal(a.length, 32);
  assert.ok(a.startsWith('a'.repeat(20)));
  assert.notEqual(a, b, 'ids sharing a long prefix stay apart');
  // QEMU's longest socket under the default runtime root fits the 107 bytes of a unix socket.
  assert.ok(`/run/passvol/sandboxes/${a}/vm/virtiofs-k99-share99.sock`.length <= 107);
});
