import { once } from 'node:events';
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '@streamedit/farm';

/** One dependency's state. */
export interface ReadinessCheck {
  readonly ok: boolean;
  /** How long the check took. */
  readonly ms: number;
  /** Why it is not ok (one sentence; no credentials: connection errors name host and port only). */
  readonly error?: string;
}

/** Longest a check may take: a readiness probe must answer even when a dependency hangs. Default 2 s. */
export const CHECK_TIMEOUT_MS = 2000;

/** Connection states from which `ready` is expected shortly (start-up); any other non-ready state is a failure. */
const STARTING = new Set(['wait', 'connecting', 'connect']);

/**
 * Redis answers PING. A connection still starting gets the timeout to become ready; one that was lost
 * (`reconnecting`, `close`, `end`) fails at once, since commands would only queue until it returns.
 */
export async function checkRedis(redis: Redis, timeoutMs = CHECK_TIMEOUT_MS): Promise<ReadinessCheck> {
  return timed(async (signal) => {
    if (STARTING.has(redis.status)) await once(redis, 'ready', { signal });
    if (redis.status !== 'ready') throw new Error(`the Redis connection is ${redis.status}`);
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error(`Redis answered ${JSON.stringify(pong)} to PING`);
  }, timeoutMs);
}

/** The artifact store answers a listing (on S3 this also fails when the bucket is missing or access is denied). */
export async function checkStorage(store: ArtifactStore, timeoutMs = CHECK_TIMEOUT_MS): Promise<ReadinessCheck> {
  return timed(async () => {
    await store.list('health/');
  }, timeoutMs);
}

/** Runs `check` with a deadline; `signal` aborts when it passes (so waits inside the check are released). */
async function timed(check: (signal: AbortSignal) => Promise<void>, timeoutMs: number): Promise<ReadinessCheck> {
  const started = Date.now();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${timeoutMs} ms`));
      abort.abort();
    }, timeoutMs);
  });
  const running = check(abort.signal);
  running.catch(() => {}); // a check that loses the race may still fail later
  try {
    await Promise.race([running, timeout]);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
