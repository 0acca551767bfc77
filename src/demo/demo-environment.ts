// The demo's node: a scratch folder laid out like a Kubernetes node, the embedded NFS server, and the
// two CSI drivers (disk and NAS) as their own processes, reached over their unix sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedNfsServer, type EmbeddedNfsServerInfo } from '../csi/backends/nas/embedded-nfs-server.js';
import { csiClient, type CsiClient } from '../csi/csi-client.js';

export interface DemoNode {
  work: string;
  kubelet: string;
  directVolumes: string;
  goShims: string;
  nfs: EmbeddedNfsServerInfo;
  disk: CsiClient;
  nas: CsiClient;
  stop(): Promise<void>;
}

async function startDriver(kind: 'disk' | 'nas', work: string, extra: string[]): Promise<{ child: ChildProcess; client: CsiClient }> {
  const socket = join(work, `${kind}.sock`);
  const args = [...process.execArgv, process.argv[1] as string, 'csi', 'serve', '--driver', kind, '--endpoint', `unix://${socket}`, '--node-id', 'demo-node',
    '--kubelet-root', join(work, 'kubelet'), '--direct-volume-root', join(work, 'direct-volumes'), '--disk-pool-dir', join(work, 'pool'),
    '--go-shim-root', join(work, 'vc-sbs'), '--no-kubernetes', '--log-level', 'warn', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 300 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(socket)) throw new Error(`the ${kind} CSI driver did not start`);
  return { child, client: csiClient(socket) };
}

export async function startDemoNode(work: string): Promise<DemoNode> {
  for (const d of ['kubelet', 'nas-export', 'direct-volumes']) mkdirSync(join(work, d), { recursive: true });
  const nfsServer = new EmbeddedNfsServer({ exportDir: join(work, 'nas-export'), stateDir: join(work, 'nfs-state'), forgetClients: true });
  const nfs = await nfsServer.start();
  const disk = await startDriver('disk', work, []);
  const nas = await startDriver('nas', work, ['--nas-local-path', nfs.localPathMapping]);
  return {
    work,
    kubelet: join(work, 'kubelet'),
    directVolumes: join(work, 'direct-volumes'),
    goShims: join(work, 'vc-sbs'),
    nfs,
    disk: disk.client,
    nas: nas.client,
    async stop() {
      for (const d of [disk, nas]) {
        d.client.close();
        if (d.child.exitCode === null) {
          const exited = new Promise((r) => d.child.once('exit', r));
          d.child.kill('SIGTERM');
          await exited;
        }
      }
      await nfsServer.stop();
    },
  };
}
