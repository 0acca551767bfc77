import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CsiClient } from '../csi/csi-client.js';
import type { EmbeddedNfsServerInfo } from '../csi/backends/nas/embedded-nfs-server.js';
import { startDemoNode, type DemoNodeParts } from './demo-environment.js';

/** Parts that record what they start and stop; `fail` names the part that fails to start or to stop. */
function fakeParts(fail: { start?: string; stop?: string }) {
  const events: string[] = [];
  const part = async <T>(name: string, value: T) => {
    if (fail.start === name) throw new Error(`${name} did not start`);
    events.push(`start ${name}`);
    return {
      value,
      async stop() {
        events.push(`stop ${name}`);
        if (fail.stop === name) throw new Error(`${name} would not stop`);
      },
    };
  };
  const parts: DemoNodeParts = {
    startNfs: () => part('nfs', { localPathMapping: 'x' } as EmbeddedNfsServerInfo),
    startDriver: (kind) => part(kind, {} as CsiClient),
  };
  return { parts, events };
}

/** A scratch folder removed after the test. */
const work = (t: TestContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'passvol-demo-env-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

test('a driver that fails to start: what had started (the NFS server, the disk driver) is stopped', async (t) => {
  const dir = work(t);
  const { parts, events } = fakeParts({ start: 'nas' });
  await assert.rejects(startDemoNode(dir, parts), /^Error: nas did not start$/);
  assert.deepEqual(events, ['start nfs', 'start disk', 'stop disk', 'stop nfs']);
});

test('a part that also fails to stop is named with the error that stopped the start', async (t) => {
  const dir = work(t);
  const { parts, events } = fakeParts({ start: 'nas', stop: 'disk' });
  await assert.rejects(startDemoNode(dir, parts), (e: Error) => e instanceof AggregateError && e.message === 'nas did not start; then, stopping what had started: stop the disk CSI driver: disk would not stop');
  assert.deepEqual(events, ['start nfs', 'start disk', 'stop disk', 'stop nfs']);
});

test('stop() stops every part even when one fails, and says which', async (t) => {
  const dir = work(t);
  const { parts, events } = fakeParts({ stop: 'nas' });
  const node = await startDemoNode(dir, parts);
  await assert.rejects(node.stop(), /^Error: nas would not stop$/);
  assert.deepEqual(events, ['start nfs', 'start disk', 'start nas', 'stop nas', 'stop disk', 'stop nfs']);
});
