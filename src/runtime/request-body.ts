// The body of an HTTP request on one of the runtime's unix sockets (monitor, shim control), bounded: a
// client cannot make the runtime buffer more than `max` bytes.
import type { IncomingMessage } from 'node:http';
import { invalidArgument } from '../common/errors.js';

export function readRequestBody(req: IncomingMessage, max = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > max) {
        reject(invalidArgument(`request body over ${max} bytes`));
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
