// Structured logs to stderr, which in the guest is the console the runtime captures. No pino transports:
// they need worker files that a one-file bundle does not have.
import { pino, destination, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = ['args.process.env', 'process.env', 'args.data', 'env'];

/**
 * A logger not yet tied to a process: the startup snapshot holds one, made while the image is built,
 * because making it (the redaction code pino generates) cost ~0.15 s of every boot under TCG.
 * `forThisProcess` gives it its level and the pid.
 */
export function createAgentLogger(level: string, sink: DestinationStream = destination({ fd: 2, sync: true })): Logger {
  return pino(
    {
      name: 'passvol-agent',
      level,
      base: {},
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: stdTimeFunctions.isoTime,
    },
    sink,
  );
}

/** Sets the level and binds the pid; call once, in the process that logs. */
export function forThisProcess(log: Logger, level: string): Logger {
  log.level = level;
  log.setBindings({ pid: process.pid });
  return log;
}

export type { Logger };
