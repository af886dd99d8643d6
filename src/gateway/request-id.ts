import { randomBytes } from 'node:crypto';

const boot = randomBytes(4).toString('hex');
let sequence = 0;

/** A request id unique across restarts of the process, cheap enough for every request. */
export function nextRequestId(): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `req_${boot}${sequence.toString(36)}`;
}
