import type { Redis } from 'ioredis';

/** A bucket's parameters: `burst` tokens at most, refilled at `ratePerS` per second; each request takes one. */
export interface RateLimit {
  readonly ratePerS: number;
  readonly burst: number;
}

/** The verdict on one request. */
export type RateDecision =
  { readonly allowed: true; readonly remaining: number } | { readonly allowed: false; readonly retryAfterS: number };

/**
 * Token bucket, atomically in Redis (so every API replica shares one bucket per key). Time is Redis' own clock
 * (`TIME`), so API hosts with skewed clocks agree. KEYS[1]: the bucket; ARGV: rate per ms, burst.
 * Returns {1, tokens left} or {0, ms until one token is back}. An idle bucket expires once it would be full again.
 */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
if ok == 1 then return {1, math.floor(tokens)} end
return {0, math.ceil((1 - tokens) / rate)}
`;

/** Per-subject request rate limits (API keys), as token buckets in Redis under `farm:rate:`. */
export class RateLimiter {
  constructor(private readonly redis: Redis) {}

  /** Takes one token from `subject`'s bucket. */
  async take(subject: string, limit: RateLimit): Promise<RateDecision> {
    const [ok, n] = (await this.redis.eval(
      TAKE_SCRIPT,
      1,
      `farm:rate:${subject}`,
      String(limit.ratePerS / 1000),
      String(limit.burst),
    )) as [number, number];
    if (ok === 1) return { allowed: true, remaining: n };
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil(n / 1000)) };
  }
}
