import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { ErrorBody } from '../filters/api-exception.filter';

/** Paths that need Redis to answer; `/health…` and `/metrics` stay up to report the outage themselves. */
const NEEDS_REDIS = /^\/(v1|admin\/api)(\/|$)/;

/**
 * While the API's Redis connection is down (Redis restarting, failing over, unreachable) every request that needs
 * Redis is answered at once with 503 and `Retry-After`, instead of waiting in the client's offline queue until
 * Redis is back (a hang) or failing with a 500. Requests already running when Redis goes away finish once it is
 * back. Public routes that need Redis (queue depths) answer 503 too.
 */
export function redisAvailability(redis: Redis, retryAfterS = 5): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (redis.status === 'ready' || !NEEDS_REDIS.test(req.path)) return next();
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
