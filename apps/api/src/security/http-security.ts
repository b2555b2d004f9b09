import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import type { FarmConfig } from '@streamedit/farm';

/** Headers a browser client may send and read across origins (when `FARM_CORS_ORIGINS` allows its origin). */
const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID'];
const CORS_EXPOSED_HEADERS = ['Retry-After', 'Location', 'Content-Disposition'];

/**
 * Browser-facing hardening: helmet's headers (CSP, nosniff, frame-ancestors none, no referrer leaks…) with a CSP
 * that still lets the admin dashboard and /docs work (same-origin scripts; result videos and images also from the
 * S3 endpoint that presigned URLs point to), and CORS only for the origins in `FARM_CORS_ORIGINS` (none by
 * default). API keys travel in the Authorization header, never in cookies, so CORS never allows credentials.
 */
export function applyHttpSecurity(app: NestExpressApplication, config: FarmConfig): void {
  const endpoints = [config.s3PublicEndpoint, config.s3Endpoint].filter((u): u is string => Boolean(u));
  // AWS S3 itself (no endpoint set): presigned URLs point to https://<bucket>.s3.<region>.amazonaws.com/….
  const storage = endpoints.length > 0 ? endpoints.map((u) => new URL(u).origin) : ['https:'];
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Swagger UI (/docs) sets inline styles; scripts stay same-origin only.
          'img-src': ["'self'", 'data:', ...storage],
          'media-src': ["'self'", ...storage],
          'connect-src': ["'self'"],
          // helmet's default would rewrite http:// presigned URLs (MinIO, s3rver, an http S3_PUBLIC_ENDPOINT) to
          // https://, which breaks the dashboard's result player and downloads on plain-http deployments.
          'upgrade-insecure-requests': null,
        },
      },
      // Results are fetched by other origins' pages only through CORS, which this does not affect.
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
  );
  app.enableCors({
    origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: CORS_REQUEST_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
  });
}
