// Structured JSON logs (pino). One child logger per part; secrets and mount credentials are redacted.
import { pino, destination, stdTimeFunctions, type Logger } from 'pino';

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

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'passvol',
      level: options.level ?? process.env.PASSVOL_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
    },
    destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
