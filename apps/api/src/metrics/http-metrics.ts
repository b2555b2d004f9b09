import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Histogram } from 'prom-client';

/**
 * Times every request into `histogram`, labelled by the matched route's pattern (`/v1/jobs/:id`, never the raw
 * path, so label values stay few): `{mount}/*` for static files and routers without a route, `unmatched` for 404s.
 */
export function httpMetrics(histogram: Histogram<'method' | 'route' | 'status'>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      histogram.observe({ method: req.method, route: routeOf(req), status: String(res.statusCode) }, seconds);
    });
    next();
  };
}

function routeOf(req: Request): string {
  const path = (req as { route?: { path?: unknown } }).route?.path;
  if (typeof path === 'string') return `${req.baseUrl}${path}`;
  return req.baseUrl ? `${req.baseUrl}/*` : 'unmatched';
}
