// setClock: a VM restored from a template wakes with the clock the template had when it was saved; the
// runtime sends the host's time. busybox date sets whole seconds, so the clock is stepped twice: at once to
// the current second (behind by under one), then, off the request, exactly at the next second boundary.
import type { Logger } from '../logger.js';
import type { RunCommand } from '../run-command.js';
import type { Handler } from './handler.js';

export interface ClockDeps {
  run: RunCommand;
  log: Logger;
  /** A monotonic clock in ms (performance.now). */
  monotonic: () => number;
  /** The guest's wall clock in ms (Date.now). */
  wall: () => number;
  later: (fn: () => void, ms: number) => void;
}

const setSecond = (run: RunCommand, second: number) => run('date', ['-u', '-s', `@${second}`]);

/** Steps the clock to the host's `epochMs` (sent when the host read it; `received` is when it arrived). */
export async function stepClock(deps: ClockDeps, epochMs: number, received: number): Promise<{ wasBehindMs: number }> {
  const hostNow = () => epochMs + (deps.monotonic() - received);
  const wasBehindMs = Math.round(hostNow() - deps.wall());
  await setSecond(deps.run, Math.floor(hostNow() / 1000));
  const next = Math.floor(hostNow() / 1000) + 1;
  deps.later(() => {
    setSecond(deps.run, next).catch((err: unknown) => deps.log.warn({ err }, 'cannot set the clock to the second boundary'));
  }, next * 1000 - hostNow());
  return { wasBehindMs };
}

export const setClock: Handler<'setClock'> = async (args, ctx) => {
  const received = performance.now();
  const result = await stepClock(
    { run: ctx.run, log: ctx.log, monotonic: () => performance.now(), wall: () => Date.now(), later: (fn, ms) => void setTimeout(fn, ms) },
    args.epochMs,
    received,
  );
  ctx.log.info(result, 'clock set from the host');
  return result;
};
