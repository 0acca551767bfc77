// `passvol csi serve`: builds the driver from its config, serves CSI on the unix socket and the ops
// endpoints over HTTP, and stops cleanly on SIGTERM.
import { mkdir } from 'node:fs/promises';
import { notTmpfs } from '../common/tmpfs.js';
import type { Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { createLogger, type Logger } from '../common/logger.js';
import { systemExec, type Exec } from '../common/exec.js';
import { MonitorClient, RecordStore } from '../directvolume/index.js';
import { createBackends } from './backends/index.js';
import { ControllerServer } from './controller/controller-server.js';
import { endpointPath, type DriverConfig } from './driver-config.js';
import { addService, bindUnix, clearStaleSocket, type ServiceImpl } from './grpc-server.js';
import { Mounter } from './host/mounter.js';
import { IdentityServer } from './identity-server.js';
import { CsiMetrics } from './metrics.js';
import { NodeServer } from './node/node-server.js';
import { removeStaleRecords } from './node/stale-records.js';
import { startOpsServer } from './ops-server.js';
import { KubernetesClusterFacts, NoClusterFacts, type ClusterFacts } from './passthrough/cluster-facts.js';
import { loadCsiPackage } from './proto/load-csi.js';
import { VolumeLocks } from './volume-locks.js';

export interface RunningDriver {
  socketPath: string;
  metrics: CsiMetrics;
  opsAddress: string | undefined;
  stop(): Promise<void>;
}

async function clusterFacts(config: DriverConfig, log: Logger): Promise<ClusterFacts> {
  if (config.noKubernetes) return new NoClusterFacts('the driver runs without an API server (--no-kubernetes)');
  try {
    return await KubernetesClusterFacts.load(config.kubeconfig, log);
  } catch (e) {
    // Not fatal (a driver without an API server still serves volume-level requests), but loud: every pod
    // that asks for passthrough by annotation or runtimeClassName gets the host path instead.
    log.warn(
      { err: (e as Error).message, kubeconfig: config.kubeconfig ?? null },
      'no API server configuration: pod annotations and runtimeClassName cannot be read, so only the StorageClass or the PVC can pass a volume through; run in a pod with a service account, give --kubeconfig, or --no-kubernetes to run without an API server on purpose',
    );
    return new NoClusterFacts(`no API server configuration: ${(e as Error).message}`);
  }
}

/**
 * Records belong on a tmpfs, as Kata keeps them under /run: they must not outlive a reboot (the sandboxes do
 * not), and on a disk each record's fsyncs would hold up every other call of the driver.
 */
async function warnUnlessTmpfs(root: string, log: Logger): Promise<void> {
  const fsType = await notTmpfs(root);
  if (fsType) {
    log.warn({ root, fsType }, 'the direct-volume root is not on a tmpfs: records would outlive a reboot and each write waits for the disk; mount a tmpfs there (docs/operations.md)');
  }
}

export async function startDriver(config: DriverConfig, deps: { exec?: Exec; log?: Logger } = {}): Promise<RunningDriver> {
  const log = (deps.log ?? createLogger({ level: config.logLevel })).child({ part: 'csi', driver: config.driverName, mode: config.mode });
  const exec = deps.exec ?? systemExec;
  const metrics = new CsiMetrics();
  const locks = new VolumeLocks();
  const cluster = await clusterFacts(config, log);
  const backends = await createBackends(config, exec, log.child({ part: 'backend' }));
  const { Identity, Controller, Node } = loadCsiPackage();
  const server = new grpc.Server();
  const edge = { log, metrics, driver: config.driverName, mode: config.mode };
  const readyPaths = [...backends.readyPaths];

  if (config.mode !== 'node') {
    addService(server, Controller, new ControllerServer({ config, backend: backends.controller, cluster, locks, log }) as unknown as ServiceImpl, edge);
  }
  if (config.mode !== 'controller') {
    await mkdir(config.directVolumeRoot, { recursive: true, mode: 0o700 });
    await warnUnlessTmpfs(config.directVolumeRoot, log);
    readyPaths.push(config.directVolumeRoot);
    const ctx = {
      config,
      backend: backends.node,
      mounter: new Mounter(exec),
      exec,
      records: new RecordStore(config.directVolumeRoot),
      monitor: new MonitorClient({ goShimRoot: config.goShimRoot, rsShimRoot: config.rsShimRoot }),
      cluster,
      locks,
      log,
    };
    const removed = await removeStaleRecords(ctx);
    if (removed.length) log.info({ count: removed.length }, 'start-up: removed stale records');
    addService(server, Node, new NodeServer(ctx) as unknown as ServiceImpl, edge);
  }
  const identity = new IdentityServer(config, config.mode !== 'node' ? backends.controller : undefined, config.mode !== 'controller' ? backends.node : undefined, readyPaths);
  addService(server, Identity, identity as unknown as ServiceImpl, edge);

  const socketPath = endpointPath(config.endpoint);
  await clearStaleSocket(socketPath);
  await bindUnix(server, socketPath);
  let ops: HttpServer | undefined;
  if (config.metricsAddress) {
    ops = await startOpsServer(config.metricsAddress, metrics, async () => ((await identity.Probe()) as { ready: { value: boolean } }).ready.value);
  }
  log.info({ endpoint: config.endpoint, metrics: config.metricsAddress ?? null }, 'serving');
  return {
    socketPath,
    metrics,
    opsAddress: config.metricsAddress,
    stop: async () => {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      if (ops) await new Promise<void>((resolve) => ops.close(() => resolve()));
    },
  };
}
