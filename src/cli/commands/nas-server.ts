// `passvol nas-server`: the embedded NAS (nfs-ganesha on loopback) as a foreground service, for a node that
// has no NFS server of its own. It prints what the NAS StorageClass and `csi serve --nas-local-path` need,
// and stops the server on SIGINT/SIGTERM. A server already running from the same state folder is kept.
import { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseFlags } from '../parse-flags.js';
import { createLogger } from '../../common/logger.js';
import { EmbeddedNfsServer } from '../../csi/backends/nas/embedded-nfs-server.js';

const Options = z.object({ export: z.string().min(1), state: z.string().min(1), pseudoPath: z.string().regex(/^\/[^,]*$/, 'must be an absolute path') });

export function nasServerCommand(): Command {
  return new Command('nas-server')
    .description('run the embedded NFS server (nfs-ganesha on 127.0.0.1) until SIGINT/SIGTERM')
    .requiredOption('--export <dir>', 'folder to serve (created if missing)')
    .option('--state <dir>', 'config, pid files, log and NFSv4 recovery data', '/var/lib/passvol/nfs-server')
    .option('--pseudo-path <path>', 'the path clients mount', '/export')
    .action(async (raw) => {
      const o = parseFlags(Options, raw);
      const exportDir = resolve(o.export);
      await mkdir(exportDir, { recursive: true });
      const server = new EmbeddedNfsServer({ exportDir, stateDir: resolve(o.state), pseudoPath: o.pseudoPath, logger: createLogger({ defaultLevel: 'warn' }) });
      const info = await server.start();
      process.stdout.write(
        `NFS server ${info.server}:${info.share} (NFS port ${info.nfsPort}, MOUNT port ${info.mountPort}) serving ${info.localDir}${info.reused ? ' (already running)' : ''}\n` +
          `StorageClass parameters: server: ${info.server}, share: ${info.share}\n` +
          `csi serve --driver nas --nas-local-path ${info.localPathMapping}\n`,
      );
      // The server runs as its own process group; this one stays in the foreground until told to stop.
      const keepAlive = setInterval(() => undefined, 2 ** 30);
      await new Promise<void>((done) => {
        const stop = () => void server.stop().finally(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      clearInterval(keepAlive);
    });
}
