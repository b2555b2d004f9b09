import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The short-lived capability the API hands a client with a stream's socket URL: `{expiresAtMs}.{hmac}` where the
 * HMAC-SHA256 (key `FARM_STREAM_SECRET`) covers the stream id and the expiry. The streamer, a separate process,
 * checks it without asking the API, so an API restart does not cut a stream that is about to connect.
 */
export function signStreamToken(secret: string, streamId: string, expiresAtMs: number): string {
  return `${expiresAtMs}.${mac(secret, streamId, expiresAtMs)}`;
}

/** Why a token was refused (the streamer answers 401 with it). */
export type StreamTokenProblem = 'missing' | 'malformed' | 'expired' | 'invalid';

/** Checks a token for `streamId` at time `nowMs`: undefined when it is valid, else what is wrong with it. */
export function checkStreamToken(
  secret: string,
  streamId: string,
  token: string | null | undefined,
  nowMs = Date.now(),
): StreamTokenProblem | undefined {
  if (!token) return 'missing';
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return 'malformed';
  const expiresAtMs = Number(m[1]);
  const expected = Buffer.from(mac(secret, streamId, expiresAtMs));
  // Constant-time comparison: the time taken says nothing about how much of a forged MAC was right.
  if (!timingSafeEqual(expected, Buffer.from(m[2]!))) return 'invalid';
  return expiresAtMs < nowMs ? 'expired' : undefined;
}

function mac(secret: string, streamId: string, expiresAtMs: number): string {
  return createHmac('sha256', secret).update(`stream:${streamId}:${expiresAtMs}`).digest('base64url');
}
