import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The secret inside an `Authorization` header: `Bearer <secret>` (scripts, API clients) or HTTP basic auth with the
 * secret as password and any user name (browsers: the admin dashboard). Undefined when there is none.
 */
export function credentialOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/** Constant-time comparison of two secrets (over their SHA-256 digests, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
