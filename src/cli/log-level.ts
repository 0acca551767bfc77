// The --log-level flag every long-running command takes. It has no commander default, so that without it the
// logger falls back to $PASSVOL_LOG_LEVEL and only then to the command's own default (common/logger.ts).
import { LOG_LEVEL_ENV } from '../common/logger.js';

export const logLevelHelp = (what: string, defaultLevel: string): string => `${what} (default: $${LOG_LEVEL_ENV}, else "${defaultLevel}")`;
