// A private containerd (Debian's 1.6) for the shim's end-to-end tests: its own root, state and sockets in a
// scratch folder, the repository's bin/ first on its PATH so that `io.containerd.passvol.v2` is this
// checkout's shim (which runs the built dist/: `npm run build` after changing src/), and the shim's
// settings in a JSON file. CRI is off unless asked for; with it, a `passvol` runtime handler as a node
// would configure it, and crictl (pinned, from .tools/bin) to drive it as kubelet does. Also a one-layer
// OCI image made from a folder, so tests need no registry.
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

export interface CriOptions {
  /** The image CRI runs as each pod's sandbox (pause) container; it must be imported, as nothing is pulled. */
  sandboxImage: string;
  /** Where CRI reads its CNI network configuration (the plugins are Debian's, in /usr/lib/cni). */
  cniConfDir: string;
}

/** The CRI plugin as a node would set it up for passvol: a `passvol` runtime handler naming the shim and its settings. */
function criConfig(cri: CriOptions, shimConfigPath: string): string[] {
  const plugin = '[plugins."io.containerd.grpc.v1.cri"';
  return [
    `${plugin}]`,
    `  sandbox_image = "${cri.sandboxImage}"`,
    `${plugin}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `${plugin}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `${plugin}.containerd.runtimes.passvol]`,
    '  runtime_type = "io.containerd.passvol.v2"',
    `${plugin}.containerd.runtimes.passvol.options]`,
    `  ConfigPath = "${shimConfigPath}"`,
    `${plugin}.cni]`,
    `  bin_dir = "${CNI_BIN}"`,
    `  conf_dir = "${cri.cniConfDir}"`,
  ];
}

/** Starts containerd on `dir`; with `cri`, its CRI plugin serves on the same socket (crictl's endpoint). */
export async function startContainerd(dir: string, shimConfig: Record<string, unknown>, cri?: CriOptions): Promise<Containerd> {
  mkdirSync(dir, { recursive: true });
  const address = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  const shimConfigPath = join(dir, 'shim.json');
  writeFileSync(shimConfigPath, JSON.stringify(shimConfig));
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      ...(cri ? [] : ['disabled_plugins = ["io.containerd.grpc.v1.cri"]']),
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      ...(cri ? criConfig(cri, shimConfigPath) : []),
      '',
    ].join('\n'),
  );
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
    ctr: (args, input = '') => runTool('ctr', ['--address', address, ...args], input),
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
export function ociImageArchive(rootfs: string, dir: string, name: string, cmd = ['/bin/sh']): string {
  const layout = join(dir, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const digest = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layer = put(spawnSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 1 << 30 }).stdout);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: cmd, Env: ['PATH=/bin'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
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

const TOOLS_BIN = join(process.env.PASSVOL_TOOLS_DIR ?? join(REPO_ROOT, '.tools'), 'bin');
export const CRICTL = join(TOOLS_BIN, 'crictl');
export const CNI_BIN = '/usr/lib/cni';
export const criSkip = !existsSync(CRICTL)
  ? 'crictl is not installed: run scripts/install-go-tools.sh'
  : !existsSync(join(CNI_BIN, 'bridge'))
    ? 'the CNI plugins are not installed: run scripts/setup.sh'
    : false;

/** crictl against this containerd's CRI, as kubelet would call it; resolves with what it printed and its exit code. */
export function crictl(ctd: Containerd, args: string[]): Promise<ToolResult> {
  const endpoint = `unix://${ctd.address}`;
  return runTool(CRICTL, ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '120s', ...args]);
}

/**
 * crictl with a terminal of its own, as a person at a console runs `crictl exec -it`: util-linux script gives
 * it a pty, and `input` is typed into it (then end of input, ^D).
 */
export function crictlInTerminal(ctd: Containerd, args: string[], input: string): Promise<ToolResult> {
  const endpoint = `unix://${ctd.address}`;
  const quote = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;
  const command = [CRICTL, '--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '120s', ...args].map(quote).join(' ');
  return runTool('script', ['--quiet', '--return', '--command', command, '/dev/null'], input);
}

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client tool (ctr, crictl) with `input` on its stdin; resolves with what it printed and its exit code. */
function runTool(cmd: string, args: string[], input = ''): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.stdin.end(input);
    c.on('error', reject);
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
