import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoReport, type DemoCheck } from './demo-report.js';
import type { DemoNode } from './demo-environment.js';
import { runDemo } from './run-demo.js';

const CLI = [process.execPath, '--import', 'tsx', fileURLToPath(new URL('../cli/main.ts', import.meta.url))];

/** Runs the demo in --json mode with its scratch folders in a private TMPDIR; returns the JSON lines. */
async function jsonDemo(o: Parameters<typeof runDemo>[1]): Promise<{ checks: DemoCheck[]; tmp: string; workDirs: [string, boolean][] }> {
  const tmp = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'passvol-run-demo-test-'));
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  let out = '';
  const workDirs: [string, boolean][] = [];
  try {
    await runDemo(new DemoReport(true, { write: (t: string) => (out += t) }, { write: () => undefined }), { cli: CLI, onWorkDir: (d, made) => workDirs.push([d, made]), ...o });
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  return { checks: out.trim().split('\n').map((l) => JSON.parse(l) as DemoCheck), tmp, workDirs };
}

test('--work-dir: the NFS server or a driver failing to start is a failing check; the folder and its files stay', async () => {
  const user = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'passvol-run-demo-user-'));
  const { checks, tmp, workDirs } = await jsonDemo({ workDir: user, startNode: () => Promise.reject(new Error('ganesha.nfsd: not found')) });
  try {
    const failed = checks.filter((c) => !c.pass);
    assert.deepEqual(failed, [{ name: `Set up the node in ${user}: the local disk pool, the embedded NFS server (nfs-ganesha), and both CSI drivers`, expected: 'completes', seen: 'ganesha.nfsd: not found', pass: false }]);
    assert.equal(checks.length, 10, 'the direct-volume checks ran before');
    assert.deepEqual(workDirs, [[user, false]], 'an interrupt would clean up the --work-dir too');
    assert.ok(existsSync(join(user, 'walkthrough', 'direct-volumes')), 'a --work-dir keeps its files');
  } finally {
    rmSync(user, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a CSI call that fails is a failing check; cleanup runs every step, reports the one that failed, and removes the scratch folder', async () => {
  const stopped: string[] = [];
  const node = (work: string) =>
    ({
      work,
      nfs: { server: '127.0.0.1', share: '/export' },
      disk: { controller: { CreateVolume: () => Promise.reject(new Error('8 RESOURCE_EXHAUSTED: the disk pool is full')) } },
      stop: () => {
        stopped.push(work);
        return Promise.reject(new Error('the NAS driver would not stop'));
      },
    }) as unknown as DemoNode;
  const { checks, tmp, workDirs } = await jsonDemo({ startNode: async (work) => node(work) });
  try {
    assert.deepEqual(
      checks.filter((c) => !c.pass),
      [
        { name: 'A cloud disk for the sandbox: CreateVolume (passthrough: "true") -> ControllerPublish (attach) -> NodeStage -> NodePublish', expected: 'completes', seen: '8 RESOURCE_EXHAUSTED: the disk pool is full', pass: false },
        { name: 'Clean up: NodeUnpublish, NodeUnstage, ControllerUnpublish (detach), DeleteVolume, stop the drivers and the NFS server', expected: 'completes', seen: 'stop the CSI drivers and the NFS server: the NAS driver would not stop', pass: false },
      ],
    );
    const [[work, madeByDemo] = ['', false]] = workDirs;
    assert.ok(work.startsWith(join(tmp, 'passvol-demo-')) && madeByDemo, work);
    assert.deepEqual(stopped, [work]);
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('passvol-demo-')), [], 'the scratch folder is removed although a cleanup step failed');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
