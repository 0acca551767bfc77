// Structured logs to stderr, which in the guest is the console the runtime captures. No pino transports:
// they need worker files that a one-file bundle does not have.
import { pino, destination, stdTimeFunctions, type Logger } from 'pino';

export const REDACT_PATHS = ['args.process.env', 'process.env', 'args.data', 'env'];

export function createAgentLogger(level: string): Logger {
  return pino(
    {
      name: 'passvol-agent',
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: stdTimeFunctions.isoTime,
    },
    destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
