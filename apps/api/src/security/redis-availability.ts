import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { ErrorBody } from '../filters/api-exception.filter';

/** Paths that need Redis to answer; `/health…` and `/metrics` stay up to report the outage themselves. */
const NEEDS_REDIS = /^\/(v1|admin\/api)(\/|$)/;

/**
 * Whether the API's Redis answers: its connection is up (`status` ready) **and** a PING sent every `intervalMs`
 * came back within `timeoutMs`. The second half catches a Redis that keeps its TCP connection but answers nothing
 * (paused with SIGSTOP, swapped out, a half-open network path), which the connection state alone never shows.
 */
export class RedisWatch {
  private responsive = true;
  private timer?: NodeJS.Timeout;
  private inFlight = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: { readonly intervalMs: number; readonly timeoutMs: number },
  ) {}

  /** True when requests that need Redis may go ahead. */
  get available(): boolean {
    return this.redis.status === 'ready' && this.responsive;
  }

  start(): this {
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.inFlight || this.redis.status !== 'ready') return;
    this.inFlight = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((done) => (timer = setTimeout(() => done(false), this.options.timeoutMs)));
    try {
      this.responsive = await Promise.race([this.redis.ping().then(() => true as const), timeout]);
    } catch {
      this.responsive = false;
    } finally {
      clearTimeout(timer);
      this.inFlight = false;
    }
  }
}

/**
 * While the API's Redis is unavailable (restarting, failing over, unreachable, or connected but not answering: see
 * {@link RedisWatch}) every request that needs Redis is answered at once with 503 and `Retry-After`, instead of
 * waiting in the client's offline queue until Redis is back (a hang) or failing with a 500. A request that reaches
 * Redis just as it freezes fails with 503 after the command timeout (`FARM_REDIS_TIMEOUT_MS`). Public routes that
 * need Redis (queue depths) answer 503 too.
 */
export function redisAvailability(watch: RedisWatch, retryAfterS = 5): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (watch.available || !NEEDS_REDIS.test(req.path)) return next();
    const body: ErrorBody = {
      statusCode: 503,
      error: 'Service Unavailable',
      message: `The farm's job database (Redis) is not reachable right now: send the request again in ${retryAfterS} s.`,
    };
    req.resume(); // an upload's body is discarded, so the client reads the answer instead of a reset
    res.setHeader('Retry-After', String(retryAfterS));
    res.status(503).json(body);
  };
}
