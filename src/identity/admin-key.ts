import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The admin guard shared by the HTTP `/admin/*` endpoints and WebSocket admin sessions, so the two
 * can never disagree: with an admin key configured (`admin.keyEnv`), the client must present it;
 * without one, only loopback clients are admins.
 *
 * The key is compared in constant time: both sides are hashed first (SHA-256), so neither the
 * position of the first differing byte nor the presented key's length shows in the timing.
 */
export function adminAllowed(configuredKey: string | undefined, presentedKey: string | undefined, remoteAddress: string | undefined): boolean {
  if (configuredKey === undefined) return isLoopback(remoteAddress);
  return presentedKey !== undefined && sameSecret(configuredKey, presentedKey);
}

/** Whether the peer connects from this machine. */
export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** Constant-time equality of two secrets of any lengths. */
export function sameSecret(expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}
