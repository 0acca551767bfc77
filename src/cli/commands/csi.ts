// `passvol csi serve`: flags -> DriverConfig (zod) -> startDriver.
import { Command, Option } from 'commander';
import { ZodError } from 'zod';
import { flagError } from '../parse-flags.js';
import { parseDriverConfig } from '../../csi/driver-config.js';
import { startDriver } from '../../csi/driver.js';
import { logLevelHelp } from '../log-level.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function csiCommand(): Command {
  const csi = new Command('csi').description('the CSI driver');
  csi
    .command('serve')
    .description('serve CSI (Identity, Controller, Node) on a unix socket')
    .addOption(new Option('--driver <kind>', 'which volumes: disk or nas').choices(['disk', 'nas']).makeOptionMandatory())
    .option('--driver-name <name>', 'CSI driver name (default disk.csi.passvol.io / nas.csi.passvol.io)')
    .addOption(new Option('--mode <mode>', 'services to serve').choices(['controller', 'node', 'all']).default('all'))
    .requiredOption('--endpoint <url>', 'unix:///path/to/csi.sock')
    .requiredOption('--node-id <id>', 'this node (the Kubernetes node name)')
    .option('--kubelet-root <dir>', 'kubelet root; target and staging paths must lie under it', '/var/lib/kubelet')
    .option('--direct-volume-root <dir>', 'where passthrough records go (Kata default)')
    .option('--go-shim-root <dir>', "Kata Go shim sandboxes (monitor sockets)")
    .option('--rs-shim-root <dir>', 'runtime-rs sandboxes (monitor sockets)')
    .option('--disk-pool-dir <dir>', 'embedded disk pool folder')
    .option('--max-volumes-per-node <n>', 'node attach limit', (v) => Number(v))
    .option('--disk-volume-type <type>', 'volume-type written for passed-through disks')
    .option('--runtime-class <name>', 'a runtimeClassName whose pods get passthrough (repeatable; replaces the default set)', collect)
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, $KUBECONFIG, ~/.kube/config)')
    .option('--no-kubernetes', 'run without an API server (pod facts unavailable)')
    .option('--nas-local-path <mapping>', 'server:/share=/local/dir: manage that export through a local path (repeatable)', collect)
    .option('--metrics-address <host:port>', 'serve /metrics and /healthz here')
    .addOption(new Option('--log-level <level>', logLevelHelp('log level', 'info')).choices(['trace', 'debug', 'info', 'warn', 'error']))
    .action(async (o: Record<string, unknown>) => {
      let config;
      try {
        config = parseDriverConfig({
          driver: o.driver,
          driverName: o.driverName,
          mode: o.mode,
          endpoint: o.endpoint,
          nodeId: o.nodeId,
          kubeletRoot: o.kubeletRoot,
          directVolumeRoot: o.directVolumeRoot,
          goShimRoot: o.goShimRoot,
          rsShimRoot: o.rsShimRoot,
          diskPoolDir: o.diskPoolDir,
          maxVolumesPerNode: o.maxVolumesPerNode,
          diskVolumeType: o.diskVolumeType,
          runtimeClasses: o.runtimeClass,
          kubeconfig: o.kubeconfig,
          noKubernetes: o.kubernetes === false,
          nasLocalPaths: o.nasLocalPath,
          metricsAddress: o.metricsAddress,
          logLevel: o.logLevel,
        });
      } catch (e) {
        if (e instanceof ZodError) throw flagError(e);
        throw e;
      }
      const driver = await startDriver(config);
      const stop = () => {
        void driver.stop().then(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  return csi;
}
