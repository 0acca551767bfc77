// A private containerd (Debian's 1.6) for the shim's end-to-end tests: its own root, state and sockets in a
// scratch folder, CRI off, the repository's bin/ first on its PATH so that `io.containerd.passvol.v2` is
// this checkout's shim (which runs the built dist/: `npm run build` after changing src/), and the shim's
// settings in a JSON file. Also a one-layer OCI image made from a folder, so tests need no registry.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { socketAnswers } from '../../src/common/socket-probe.js';
import { REPO_ROOT } from './run-cli.js';

export const containerdSkip = !existsSync('/usr/bin/containerd') || !existsSync('/usr/bin/ctr') ? 'containerd is not installed: run scripts/setup.sh' : false;

export interface Containerd {
  address: string;
  /** Runs ctr against this containerd; resolves with what it printed and its exit code. */
  ctr(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  log(): string;
  stop(): Promise<void>;
}

export async function startContainerd(dir: string, shimConfig: Record<string, unknown>): Promise<Containerd> {
  mkdirSync(dir, { recursive: true });
  const address = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '',
    ].join('\n'),
  );
  const shimConfigPath = join(dir, 'shim.json');
  writeFileSync(shimConfigPath, JSON.stringify(shimConfig));
  const logPath = join(dir, 'containerd.log');
  const env = { ...process.env, PATH: `${join(REPO_ROOT, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`, PASSVOL_SHIM_CONFIG: shimConfigPath };
  const child: ChildProcess = spawn('sh', ['-c', `exec containerd --config "${config}" >>"${logPath}" 2>&1`], { env, detached: true, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  while (!(await socketAnswers(address))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`containerd did not start: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    ctr: (args, input = '') =>
      new Promise((resolve, reject) => {
        const c = spawn('ctr', ['--address', address, ...args]);
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.stdin.end(input);
        c.on('error', reject);
        c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      }),
    log: () => readFileSync(logPath, 'utf8'),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** An OCI image archive (one uncompressed layer: `rootfs`'s files) named `name`, for `ctr images import`. */
export function ociImageArchive(rootfs: string, dir: string, name: string): string {
  const layout = join(dir, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const digest = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layer = put(spawnSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 1 << 30 }).stdout);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': name } }] }));
  const archive = join(dir, 'image.tar');
  spawnSync('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}
