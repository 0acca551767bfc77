// The agent's command line. In the guest it runs with no flags: it finds its virtio-serial port by name.
// Tests run it on a host as root with --socket (a unix socket instead of the port), --root (a prefix for
// every guest path), --sys-block/--dev-dir (a fake /sys/block tree, see block-devices.ts).
import { parseArgs } from 'node:util';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { AGENT_PORT_NAME, GUEST_CAPS_EXEC } from '../protocol/index.js';

export const AGENT_VERSION = '0.1.0';
export const DEFAULT_PORT_NAME = AGENT_PORT_NAME;

const AbsoluteDir = z
  .string()
  .refine((s) => isAbsolute(s) && !/\s/.test(s), 'must be an absolute path without whitespace')
  .transform((s) => s.replace(/\/+$/, ''));

const Config = z.object({
  socket: AbsoluteDir.optional(),
  portName: z.string().regex(/^[A-Za-z0-9_.-]+$/).default(DEFAULT_PORT_NAME),
  virtioPortsDir: AbsoluteDir.default('/sys/class/virtio-ports'),
  // No prefix in the guest. (A default of '' would be checked against AbsoluteDir and refused.)
  root: AbsoluteDir.optional().transform((r) => r ?? ''),
  sysBlock: AbsoluteDir.default('/sys/block'),
  devDir: AbsoluteDir.default('/dev'),
  busybox: z.string().min(1).default('busybox'),
  capsExec: AbsoluteDir.default(GUEST_CAPS_EXEC),
  deviceWaitMs: z.coerce.number().int().min(0).max(300_000).default(10_000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});
export type AgentConfig = z.infer<typeof Config>;

export const USAGE = `usage: passvol-agent [options]
  --socket PATH          listen on a unix socket instead of the virtio-serial port (tests)
  --port-name NAME       virtio-serial port name to look for (default ${DEFAULT_PORT_NAME})
  --virtio-ports DIR     where port names are listed (default /sys/class/virtio-ports)
  --root DIR             prefix every guest path with DIR (tests on a host)
  --sys-block DIR        block devices' sysfs directory (default /sys/block)
  --dev-dir DIR          device nodes' directory (default /dev)
  --busybox PATH         busybox binary for the container launcher (default: busybox on PATH)
  --caps-exec PATH       the helper that narrows root processes' capabilities (default ${GUEST_CAPS_EXEC})
  --device-wait-ms N     how long to wait for a hot-plugged disk (default 10000)
  --log-level LEVEL      pino level (default info; PASSVOL_LOG_LEVEL also works)`;

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      socket: { type: 'string' },
      'port-name': { type: 'string' },
      'virtio-ports': { type: 'string' },
      root: { type: 'string' },
      'sys-block': { type: 'string' },
      'dev-dir': { type: 'string' },
      busybox: { type: 'string' },
      'caps-exec': { type: 'string' },
      'device-wait-ms': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  return Config.parse({
    socket: values.socket,
    portName: values['port-name'],
    virtioPortsDir: values['virtio-ports'],
    root: values.root,
    sysBlock: values['sys-block'],
    devDir: values['dev-dir'],
    busybox: values.busybox,
    capsExec: values['caps-exec'],
    deviceWaitMs: values['device-wait-ms'],
    logLevel: values['log-level'] ?? env.PASSVOL_LOG_LEVEL,
  });
}
