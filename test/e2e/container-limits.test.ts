// A container's limits hold in the guest, as runc's do on a node: its memory limit is its own (a process that
// outgrows it is the one the kernel kills, and the container and the agent go on), its pids limit stops its
// forks, its CPU quota is set, and its processes take the OOM score kubelet gave them. The VM is sized for
// the limits besides. A real VM under TCG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { readBundle } from '../../src/runtime/oci/bundle.js';
import { Sandbox } from '../../src/runtime/sandbox/sandbox.js';
import { writeBundle } from '../helpers/oci-bundle.js';
import { sandboxFixture, sandboxSkip } from '../helpers/sandbox-fixture.js';
import { waitFor } from '../helpers/vm.js';

const MiB = 1024 * 1024;

test("a container's memory, pids and CPU limits and its OOM score hold in the guest; a process over its memory limit is killed alone", { skip: sandboxSkip, timeout: 600_000 }, async () => {
  const { root, deps } = await sandboxFixture('passvol-limits-');
  const script = [
    'cat /proc/self/cgroup',
    'echo "oom $(cat /proc/self/oom_score_adj)"',
    'echo "cpu.max $(cat /sys/fs/cgroup/containers/main/cpu.max)"',
    'echo "memory.max $(cat /sys/fs/cgroup/containers/main/memory.max)"',
    // dd allocates its block: 96 MiB is twice the limit.
    'dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; echo "dd exit $?"',
    'dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; echo "small dd exit $?"',
    // The test runs an exec meanwhile (before the pids test below fills the container).
    'echo ready; sleep 8',
    // 16 pids: a subshell starts 24 sleeps and dies at the first fork refused; the shell counts what runs
    // with a glob (a command would need a fork of its own), and ends (its sleeps end with it).
    '(i=0; while [ $i -lt 24 ]; do i=$((i + 1)); sleep 60 & done) 2>/dev/null',
    'set -- /proc/[0-9]*; echo "running $#"',
  ].join('\n');
  const dir = writeBundle(join(root, 'limited'), ['/bin/sh', '-c', script], []);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: Record<string, unknown>; linux?: Record<string, unknown> };
  config.process.oomScoreAdj = 500;
  config.linux = { ...config.linux, resources: { memory: { limit: 48 * MiB }, cpu: { quota: 50000, period: 100000, shares: 512 }, pids: { limit: 16 } } };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const sb = await Sandbox.create('limited', await readBundle(dir), deps);
  let out = '';
  try {
    await sb.start((_s, d) => (out += d.toString()));
    await waitFor(async () => (/^ready$/m.test(out) ? true : undefined), 120_000, 'the memory checks');
    // The agent outlived the OOM kill; an exec lands in the container's cgroup with its OOM score too.
    const exec = await sb.exec(['/bin/sh', '-c', 'cat /proc/self/cgroup; cat /proc/self/oom_score_adj']);
    assert.equal(exec.stdout, '0::/containers/main\n500\n', exec.stderr);
    // The monitor socket's /metrics (what kata-monitor scrapes) has the container's cgroup and the VM's figures.
    const metrics = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: sb.monitorSocket, path: '/metrics' }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    assert.match(metrics, new RegExp(`^passvol_container_memory_limit_bytes\\{container="main"\\} ${48 * MiB}$`, 'm'), metrics);
    assert.match(metrics, /^passvol_container_oom_kills_total\{container="main"\} [1-9]/m, 'the dd the kernel killed');
    assert.match(metrics, /^passvol_guest_memory_bytes\{item="total"\} [1-9]\d+$/m);
    assert.match(metrics, /^passvol_hypervisor_resident_memory_bytes [1-9]\d+$/m);
    assert.equal(await sb.wait(), 0, out);
  } finally {
    await sb.destroy();
  }
  assert.match(out, /^0::\/containers\/main$/m, `the container's own cgroup: ${out}`);
  assert.match(out, /^oom 500$/m, "kubelet's OOM score, not the agent's -1000");
  assert.match(out, /^cpu\.max 50000 100000$/m);
  assert.match(out, new RegExp(`^memory\\.max ${48 * MiB}$`, 'm'));
  assert.match(out, /^dd exit 137$/m, 'the process over the limit is killed (SIGKILL)');
  assert.match(out, /^small dd exit 0$/m, 'and the container goes on');
  const running = Number(/^running (\d+)$/m.exec(out)?.[1]);
  assert.ok(running >= 8 && running <= 16, `the container forked up to its 16 pids, no further: ${running} ran`);
});
