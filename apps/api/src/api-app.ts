import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Redis } from 'ioredis';
import { logger } from '@streamedit/pipeline';
import { createArtifactStore, resolveAuth, type ArtifactStore, type FarmConfig } from '@streamedit/farm';
import { mountOps } from './admin/mount-admin';
import { ApiModule } from './app.module';
import { ApiExceptionFilter } from './filters/api-exception.filter';
import { jsonBody } from './filters/json-body.middleware';
import { applyHttpSecurity } from './security/http-security';
import { redisAvailability, RedisWatch } from './security/redis-availability';

/** A running API. `close()` stops the server and releases Redis and the store (when the API made them). */
export interface RunningApi {
  readonly app: NestExpressApplication;
  /** Base URL of the bound server, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Builds and starts the API on `config.host:config.port` (port 0: any free port). Redis and the store are created
 * from the settings unless given (tests pass their own). OpenAPI UI at `/docs`, JSON at `/docs-json`.
 */
export async function startApi(
  config: FarmConfig,
  given: { redis?: Redis; store?: ArtifactStore } = {},
): Promise<RunningApi> {
  const log = logger('api');
  // A command that gets no answer within FARM_REDIS_TIMEOUT_MS fails (503) instead of hanging the request.
  const redis =
    given.redis ??
    watchRedis(new Redis(config.redisUrl, { maxRetriesPerRequest: null, commandTimeout: config.redisTimeoutMs }), log);
  const redisWatch = new RedisWatch(redis, { intervalMs: 500, timeoutMs: config.redisTimeoutMs }).start();
  const store = given.store ?? (await createArtifactStore(config));
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot({ config, redis, store }), {
    bodyParser: false,
    logger: {
      log: (m: unknown) => log.debug(String(m)),
      error: (m: unknown, trace?: unknown) => log.error({ trace }, String(m)),
      warn: (m: unknown) => log.warn(String(m)),
      debug: (m: unknown) => log.debug(String(m)),
      verbose: (m: unknown) => log.trace(String(m)),
    },
  });
  applyHttpSecurity(app, config);
  mountOps(app, config);
  app.use(redisAvailability(redisWatch));
  app.use(jsonBody());
  app.useGlobalFilters(new ApiExceptionFilter());
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('StreamEdit Farm')
      .setDescription('Edit one frame of a portrait video; the farm propagates the edit to every frame.')
      .setVersion('1')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        // Not a JWT (Swagger's default): an opaque key.
        bearerFormat: 'sek_<id>_<secret>',
        description: 'An API key: sek_… (npm run farm:keys -- create)',
      })
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  warnIfAuthOff(config, log);
  // Listen once Redis answers (or after 5 s: a farm whose Redis is down still starts and answers 503).
  await redisReady(redis, 5000);
  await app.listen(config.port, config.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return {
    app,
    url: `http://${host}:${port}`,
    close: async () => {
      redisWatch.stop();
      await app.close();
      if (!given.redis) await redis.quit().catch(() => redis.disconnect());
      if (!given.store) await store.close();
    },
  };
}

/** Resolves when the connection is ready, or after `timeoutMs` whatever its state. */
function redisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(finish, timeoutMs);
    function finish() {
      clearTimeout(timer);
      redis.off('ready', finish);
      done();
    }
    redis.once('ready', finish);
  });
}

/** Auth off is for one developer's machine: said loudly at every start, with how to turn it on. */
function warnIfAuthOff(config: FarmConfig, log: ReturnType<typeof logger>): void {
  const auth = resolveAuth(config);
  if (auth.enabled) return;
  log.warn(
    {
      host: config.host,
      auth: 'off',
      why: auth.defaulted ? 'loopback-only listener, FARM_AUTH unset' : 'FARM_AUTH=off',
    },
    '!!! API AUTH IS OFF: anyone who can reach this port can create, read and cancel every job. ' +
      'Dev mode only: set FARM_AUTH=on (and create keys with `npm run farm:keys -- create`) before exposing it. !!!',
  );
}

/**
 * Logs the connection's errors (at most one line per 10 s: a Redis outage reconnects many times a second) instead
 * of ioredis' "Unhandled error event"; requests meanwhile get 503 (see `redisAvailability`).
 */
function watchRedis(redis: Redis, log: ReturnType<typeof logger>): Redis {
  let last = 0;
  redis.on('error', (err: Error) => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    log.warn({ reason: err.message }, 'Redis connection lost: answering 503 until it is back');
  });
  redis.on('ready', () => {
    if (last > 0) log.info('Redis connection back');
  });
  return redis;
}
