// guestInfo: guest memory, the agent's own RSS and the load average.
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import type { Handler } from './handler.js';

function meminfoKiB(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m?.[1] ? Number(m[1]) : 0;
}

export const guestInfo: Handler<'guestInfo'> = async () => {
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    memTotalKiB: meminfoKiB(meminfo, 'MemTotal'),
    memAvailableKiB: meminfoKiB(meminfo, 'MemAvailable'),
    agentRssKiB: Math.round(process.memoryUsage.rss() / 1024),
    loadavg: [one, five, fifteen],
  };
};
