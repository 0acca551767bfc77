// Whether something serves a unix socket: a connect that succeeds, within a time limit (a stale socket file
// refuses at once; a wedged server may never accept).
import { connect } from 'node:net';

export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
