import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError, REPO_ROOT } from '@streamedit/pipeline';
import { z } from 'zod';

const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Every setting of the farm (API, trainer, renderer, `npm run farm`), read from the environment in this one module
 * and validated. Each key documents its variable and its default. Credentials live here only: they are never logged
 * (see {@link describeFarmConfig}) and never copied into job data.
 */
const schema = z.object({
  /** `REDIS_URL`: the Redis that holds queues, job records and worker state. Default `redis://127.0.0.1:6379`. */
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  /** `FARM_STORAGE`: `s3` (S3, MinIO, s3rver) or `local` (a folder; embedded mode). Default `s3`. */
  storage: z.enum(['s3', 'local']).default('s3'),
  /** `FARM_LOCAL_DIR`: the folder of the local artifact store. Default `.cache/farm` in the checkout (git-ignored). */
  localDir: z
    .string()
    .transform((p) => resolve(p))
    .default(join(REPO_ROOT, '.cache', 'farm')),
  /** `S3_ENDPOINT`: S3-compatible endpoint (MinIO, s3rver); unset means AWS S3. */
  s3Endpoint: z.string().url().optional(),
  /** `S3_PUBLIC_ENDPOINT`: endpoint used in presigned download URLs when clients reach S3 by another address. Default: `S3_ENDPOINT`. */
  s3PublicEndpoint: z.string().url().optional(),
  /** `S3_REGION`: default `us-east-1`. */
  s3Region: z.string().min(1).default('us-east-1'),
  /** `S3_BUCKET`: the bucket of all artifacts. Default `streamedit`. */
  s3Bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
    .default('streamedit'),
  /** `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY`: static credentials; unset means the SDK's default chain (IAM role…). */
  s3AccessKeyId: z.string().min(1).optional(),
  s3SecretAccessKey: z.string().min(1).optional(),
  /** `S3_FORCE_PATH_STYLE`: path-style URLs (needed by MinIO and s3rver). Default: true when `S3_ENDPOINT` is set. */
  s3ForcePathStyle: bool.optional(),
  /** `S3_CREATE_BUCKET`: create the bucket at start-up when missing (dev, compose). Default `false`. */
  s3CreateBucket: bool.default('false'),
  /** `HOST`: the listen address of the API and the streamer. Default `127.0.0.1` (containers set `0.0.0.0`). */
  host: z.string().min(1).default('127.0.0.1'),
  /** `PORT`: the API's port. Default 3000. */
  port: int(0, 65535).default(3000),
  /** `FARM_PUBLIC_URL`: base URL of the API in links handed to clients. Default `http://HOST:PORT`. */
  publicUrl: z.string().url().optional(),
  /**
   * `FARM_STREAMER_URL`: base URL of the streamer (apps/streamer, which hosts live sessions) as clients reach it,
   * e.g. `ws://streamer.example.com` (`http(s)://` is accepted and handed out as `ws(s)://`). The API hands clients
   * `{this}/v1/streams/{id}?token=…`. Unset (the default): `POST /v1/streams` answers 503.
   */
  streamerUrl: z
    .string()
    .url()
    .refine((u) => /^(wss?|https?):\/\//.test(u), 'must be a ws://, wss://, http:// or https:// URL')
    .optional(),
  /** `FARM_STREAMER_PORT`: the streamer's port (it listens on `HOST`). Default 3001. */
  streamerPort: int(0, 65535).default(3001),
  /**
   * `FARM_STREAM_SECRET`: key shared by the API and the streamer: the API signs each stream's socket token with it
   * (HMAC-SHA256), the streamer accepts a connection only with a valid, unexpired token. At least 16 characters.
   * Unset: the API answers 503 to `POST /v1/streams` and the streamer does not start.
   */
  streamSecret: z.string().min(16, 'must be at least 16 characters (use a random secret)').optional(),
  /** `FARM_MAX_UPLOAD_MB`: largest accepted input video, checked while streaming (413 beyond). Default 2048. */
  maxUploadMb: int(1, 1_000_000).default(2048),
  /** `FARM_MAX_IMAGE_MB`: largest accepted edit image (keyframe, overlay). Default 32. */
  maxImageMb: int(1, 1024).default(32),
  /** `FARM_PRESIGN_TTL_S`: lifetime of presigned result URLs. Default 3600. */
  presignTtlS: int(1, 7 * 24 * 3600).default(3600),
  /** `FARM_TRAIN_DEVICE`: where new jobs train and which train queue a trainer serves: `cpu` or `gpu`. Default `cpu`. */
  trainDevice: z.enum(['cpu', 'gpu']).default('cpu'),
  /** `FARM_CONCURRENCY`: jobs one worker process runs at once per queue. Default 1. */
  concurrency: int(1, 64).default(1),
  /** `FARM_JOB_ATTEMPTS`: attempts of a stage before the job fails (exponential backoff between). Default 3. */
  jobAttempts: int(1, 20).default(3),
  /** `FARM_BACKOFF_MS`: first retry delay; doubles each attempt. Default 5000. */
  backoffMs: int(0, 3_600_000).default(5000),
  /** `FARM_KEEP_COMPLETED` / `FARM_KEEP_FAILED`: BullMQ jobs kept per queue after completion / failure. Defaults 1000 / 5000. */
  keepCompleted: int(0, 1_000_000).default(1000),
  keepFailed: int(0, 1_000_000).default(5000),
  /**
   * `FARM_RENDER_CHUNK_FRAMES`: longest render job in frames. A longer ARR window is split into chunks of about
   * equal length that renderers take in parallel (each from the window's edited reference). Default 100.
   */
  renderChunkFrames: int(1, 1_000_000).default(100),
  /**
   * `FARM_DOWNLOAD_CACHE_MB`: size of a worker's local cache of immutable job artifacts (analysis, model, edited
   * references), so a renderer taking several windows of a job downloads them once; 0 turns it off. Default 4096.
   */
  downloadCacheMb: int(0, 10_000_000).default(4096),
  /**
   * `FARM_BENCHMARK_DIR`: the folder of clips that `POST /v1/benchmarks` may name (the API lists it, trainers read
   * it: a shared volume in a cluster). Default `../shared/data/videos` beside the checkout.
   */
  benchmarkDir: z
    .string()
    .transform((p) => resolve(p))
    .default(resolve(REPO_ROOT, '../shared/data/videos')),
  /** `FARM_MAX_CONSECUTIVE_FAILURES`: a worker failing this many jobs in a row stops and is marked blocked. Default 5. */
  maxConsecutiveFailures: int(1, 1000).default(5),
  /** `FARM_SHUTDOWN_GRACE_S`: on SIGTERM, how long a worker lets its current job finish before handing it back. Default 25. */
  shutdownGraceS: int(0, 3600).default(25),
  /**
   * `FARM_LOCK_S`: how long a worker's claim on a running stage lasts unless renewed (BullMQ `lockDuration`, renewed
   * every half of it; also the stalled-job check period). When a worker dies without handing back (kill -9, lost
   * node), another worker takes its stage over after about 1–3× this. Keep it well above the longest event-loop
   * stall of a stage. Default 30.
   */
  lockS: int(2, 3600).default(30),
  /** `FARM_WORKER_ID`: the worker's name in Redis (blocked list, heartbeats). Default `HOSTNAME-PID`. */
  workerId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be letters, digits, dot, dash or underscore')
    .default(`${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 128)),
  /**
   * `FARM_ADMIN_TOKEN`: the operators' credential for `/admin` (dashboard, bull-board, admin API): sent as
   * `Authorization: Bearer …` or as the password of HTTP basic auth. At least 16 characters. Unset (the default):
   * `/admin` is disabled and answers 403.
   */
  adminToken: z.string().min(16, 'must be at least 16 characters (use a random token)').optional(),
  /**
   * `FARM_AUTH`: `on` (every `/v1` route but health, queues and looks needs `Authorization: Bearer <API key>`) or
   * `off` (anyone who reaches the port may do anything: local development only). Unset (the default): `on`, except
   * when the API listens on a loopback address only (`HOST` 127.0.0.1, ::1 or localhost) and no `FARM_PUBLIC_URL` is
   * set — embedded / dev mode on one machine — where it is `off` and the API logs a loud warning at start-up. Any
   * deployment (containers set `HOST=0.0.0.0`, a proxy sets `FARM_PUBLIC_URL`) is `on` unless this says `off`.
   */
  auth: z.enum(['on', 'off']).optional(),
  /**
   * `FARM_AUTH_PEPPER`: server secret mixed into the stored hashes of API keys (HMAC-SHA256), so a copy of Redis
   * alone cannot even check a guessed key. At least 16 characters. Changing it invalidates every key. Unset: keys
   * are hashed with a fixed, public pepper (still one-way: keys are 256-bit random).
   */
  authPepper: z.string().min(16, 'must be at least 16 characters (use a random secret)').optional(),
  /** `FARM_RATE_LIMIT`: requests per second an API key may make on average (token bucket refill). Default 20. */
  rateLimitPerS: z.coerce.number().positive().max(100_000).default(20),
  /** `FARM_RATE_BURST`: requests an API key may make at once before `FARM_RATE_LIMIT` applies (bucket size). Default 60. */
  rateBurst: int(1, 1_000_000).default(60),
  /** `FARM_MAX_ACTIVE_JOBS`: unfinished jobs one API key may have at a time (more: 429). Default 4. */
  maxActiveJobs: int(1, 100_000).default(4),
  /** `FARM_MAX_FRAMES`: most frames one job may edit (checked by ffprobe before the job exists: 422). Default 18000. */
  maxFrames: int(1, 10_000_000).default(18_000),
  /** `FARM_MAX_DURATION_S`: longest span one job may edit, in seconds (422 beyond). Default 600. */
  maxDurationS: int(1, 86_400).default(600),
  /** `FARM_MAX_VIDEO_SIDE`: largest width or height of an accepted video, in pixels (422 beyond). Default 4096. */
  maxVideoSide: int(16, 65_536).default(4096),
  /**
   * `FARM_CORS_ORIGINS`: comma-separated origins (`https://app.example.com`) whose pages may call the API from a
   * browser. Default none: no CORS headers, so browsers refuse cross-origin calls.
   */
  corsOrigins: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().url().max(200)).max(100))
    .default(''),
  /**
   * `FARM_REDIS_TIMEOUT_MS`: longest wait of the API for one Redis command. A Redis that holds its connection but
   * does not answer (frozen, overloaded, a half-open network) turns into 503 + `Retry-After` after this, not a hang.
   * Default 1500.
   */
  redisTimeoutMs: int(100, 60_000).default(1500),
  /**
   * `FARM_SWEEP_INTERVAL_S`: how often the API looks for stored leftovers (job folders without a job record, and
   * multipart uploads never completed) older than `FARM_SWEEP_AGE_S`, and deletes them; 0 turns it off. Default 900.
   */
  sweepIntervalS: int(0, 7 * 24 * 3600).default(900),
  /** `FARM_SWEEP_AGE_S`: how old a leftover must be before the sweeper deletes it (an upload still running is younger). Default 3600. */
  sweepAgeS: int(60, 30 * 24 * 3600).default(3600),
  /** `FARM_STAGES_MODULE`: module exporting `createFarmStages(config)`: the pipeline behind the stage handlers. Default `libs/farm/src/stages/pipeline-stages` (compiled). */
  stagesModule: z.string().min(1).default('libs/farm/src/stages/pipeline-stages'),
  /**
   * `FARM_STORE_TIMINGS`: a file to which every artifact-store call of this process is appended as a JSON line (op,
   * key, bytes, ms): how `streamedit bench farm` measures storage overhead. Unset (the default): nothing is timed.
   */
  storeTimings: z
    .string()
    .transform((p) => resolve(p))
    .optional(),
});

export type FarmConfig = Readonly<z.infer<typeof schema>>;

/** The environment variable of every farm setting; docker/ and infra/ are tested against these names. */
export const FARM_ENV: Readonly<Record<keyof FarmConfig, string>> = {
  redisUrl: 'REDIS_URL',
  storage: 'FARM_STORAGE',
  localDir: 'FARM_LOCAL_DIR',
  s3Endpoint: 'S3_ENDPOINT',
  s3PublicEndpoint: 'S3_PUBLIC_ENDPOINT',
  s3Region: 'S3_REGION',
  s3Bucket: 'S3_BUCKET',
  s3AccessKeyId: 'S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'S3_SECRET_ACCESS_KEY',
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  s3CreateBucket: 'S3_CREATE_BUCKET',
  host: 'HOST',
  port: 'PORT',
  publicUrl: 'FARM_PUBLIC_URL',
  streamerUrl: 'FARM_STREAMER_URL',
  streamerPort: 'FARM_STREAMER_PORT',
  streamSecret: 'FARM_STREAM_SECRET',
  maxUploadMb: 'FARM_MAX_UPLOAD_MB',
  maxImageMb: 'FARM_MAX_IMAGE_MB',
  presignTtlS: 'FARM_PRESIGN_TTL_S',
  trainDevice: 'FARM_TRAIN_DEVICE',
  concurrency: 'FARM_CONCURRENCY',
  jobAttempts: 'FARM_JOB_ATTEMPTS',
  backoffMs: 'FARM_BACKOFF_MS',
  keepCompleted: 'FARM_KEEP_COMPLETED',
  keepFailed: 'FARM_KEEP_FAILED',
  renderChunkFrames: 'FARM_RENDER_CHUNK_FRAMES',
  downloadCacheMb: 'FARM_DOWNLOAD_CACHE_MB',
  benchmarkDir: 'FARM_BENCHMARK_DIR',
  maxConsecutiveFailures: 'FARM_MAX_CONSECUTIVE_FAILURES',
  shutdownGraceS: 'FARM_SHUTDOWN_GRACE_S',
  lockS: 'FARM_LOCK_S',
  workerId: 'FARM_WORKER_ID',
  adminToken: 'FARM_ADMIN_TOKEN',
  auth: 'FARM_AUTH',
  authPepper: 'FARM_AUTH_PEPPER',
  rateLimitPerS: 'FARM_RATE_LIMIT',
  rateBurst: 'FARM_RATE_BURST',
  maxActiveJobs: 'FARM_MAX_ACTIVE_JOBS',
  maxFrames: 'FARM_MAX_FRAMES',
  maxDurationS: 'FARM_MAX_DURATION_S',
  maxVideoSide: 'FARM_MAX_VIDEO_SIDE',
  corsOrigins: 'FARM_CORS_ORIGINS',
  stagesModule: 'FARM_STAGES_MODULE',
  redisTimeoutMs: 'FARM_REDIS_TIMEOUT_MS',
  sweepIntervalS: 'FARM_SWEEP_INTERVAL_S',
  sweepAgeS: 'FARM_SWEEP_AGE_S',
  storeTimings: 'FARM_STORE_TIMINGS',
};

/** Settings that are secrets (or may embed one, like a Redis URL with a password): redacted in logs. */
const SECRET_KEYS: ReadonlySet<keyof FarmConfig> = new Set([
  's3AccessKeyId',
  's3SecretAccessKey',
  'adminToken',
  'authPepper',
  'streamSecret',
]);

/** Reads and validates the farm settings; an invalid value is an `InputError` naming the variable. */
export function loadFarmConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<FarmConfig> = {}): FarmConfig {
  const raw: Record<string, string | undefined> = {};
  for (const [key, name] of Object.entries(FARM_ENV)) raw[key] = env[name] === '' ? undefined : env[name];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path[0] as keyof FarmConfig;
    // Never echo a secret's value back, even when it is malformed (a Redis URL may carry a password).
    const shown = SECRET_KEYS.has(key) || key === 'redisUrl' ? '[redacted]' : JSON.stringify(raw[key]);
    throw new InputError(`Invalid setting ${FARM_ENV[key]}=${shown}: ${issue.message}.`);
  }
  const config = { ...parsed.data, ...overrides };
  if ((config.s3AccessKeyId === undefined) !== (config.s3SecretAccessKey === undefined)) {
    throw new InputError(
      'Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither to use the default AWS credential chain.',
    );
  }
  return Object.freeze(config);
}

/** The settings as safe to log: credentials redacted, a password inside `REDIS_URL` masked. */
export function describeFarmConfig(config: FarmConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    out[key] = SECRET_KEYS.has(key as keyof FarmConfig) && value !== undefined ? '[redacted]' : value;
  }
  out.redisUrl = redactUrl(config.redisUrl);
  return out;
}

/** A URL with any password replaced, for logs and printed banners. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    return u.toString();
  } catch {
    return '[unparsable url]';
  }
}

/** Whether the API asks for API keys, and why (the default depends on where it listens: see `FARM_AUTH`). */
export function resolveAuth(config: FarmConfig): { readonly enabled: boolean; readonly defaulted: boolean } {
  if (config.auth) return { enabled: config.auth === 'on', defaulted: false };
  const loopback = ['127.0.0.1', '::1', 'localhost', '[::1]'].includes(config.host) || /^127\./.test(config.host);
  return { enabled: !(loopback && !config.publicUrl), defaulted: true };
}

/** The API's base URL in links handed to clients. */
export function publicBaseUrl(config: FarmConfig, boundPort = config.port): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host}:${boundPort}`;
}
