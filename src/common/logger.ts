// Structured JSON logs (pino). One child logger per part; secrets and mount credentials are redacted.
import { pino, destination, stdTimeFunctions, type Logger } from 'pino';
import { invalidArgument } from './errors.js';

export const REDACT_PATHS = [
  'secrets',
  '*.secrets',
  'req.secrets',
  'request.secrets',
  '*.password',
  'password',
  '*.encryptionKey',
  '*.metadata.encryptionKey',
];

export const LOG_LEVEL_ENV = 'PASSVOL_LOG_LEVEL';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * The level a logger runs at: the one asked for (a --log-level flag) when given, else $PASSVOL_LOG_LEVEL when
 * set, else the command's own default. A bad value in the environment is refused by name.
 */
export function resolveLogLevel(level: string | undefined, env: NodeJS.ProcessEnv, fallback: string): string {
  if (level !== undefined && level !== '') return level;
  const fromEnv = env[LOG_LEVEL_ENV]?.trim();
  if (!fromEnv) return fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(fromEnv)) throw invalidArgument(`${LOG_LEVEL_ENV}=${fromEnv} is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
  return fromEnv;
}

/**
 * `level` wins; without it $PASSVOL_LOG_LEVEL, then `defaultLevel` (info unless given). Lines go to stderr,
 * written at once; or to `pipeFd`, a non-blocking pipe whose reader may go away for a while (containerd's log
 * FIFO across a containerd restart): written behind, and dropped past 1 MiB rather than blocking.
 */
export function createLogger(options: { level?: string | undefined; defaultLevel?: string; name?: string; pipeFd?: number } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'passvol',
      level: resolveLogLevel(options.level, process.env, options.defaultLevel ?? 'info'),
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
    },
    options.pipeFd === undefined ? destination({ fd: 2, sync: true }) : destination({ fd: options.pipeFd, sync: false, maxLength: 1 << 20 }),
  );
}

export type { Logger };
