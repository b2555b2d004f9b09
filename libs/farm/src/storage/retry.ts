import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /**
   * Total attempts including the first. Default 6: with the default delays the waits add up to about 15 s
   * (0.5 + 1 + 2 + 4 + 8), so a storage restart or failover of ~10 s costs a pause, not a failed stage.
   */
  readonly attempts?: number;
  /** Delay before the second attempt; doubles each time, with ±25 % jitter. Default 500 ms. */
  readonly baseDelayMs?: number;
  readonly signal?: AbortSignal;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'ThrottlingException',
  'TimeoutError',
]);

/** Whether an S3/network error is worth retrying: network resets, timeouts, throttling, 5xx. Not 4xx. */
export function isTransientError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  return TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_CODES.has(e.name ?? '');
}

/**
 * Runs `fn` again after a transient failure, with exponential backoff. The AWS SDK already retries single requests;
 * this covers whole operations the SDK cannot replay (a file upload re-read from disk, a download restarted).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !isTransientError(err) || options.signal?.aborted) throw err;
      const delay = base * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}
