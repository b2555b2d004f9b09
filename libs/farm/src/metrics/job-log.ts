import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Redis key of a job's recent events (a capped list next to the job's record hash). */
export const jobLogKey = (id: string): string => `farm:job:${id}:log`;

/** Events kept per job: the newest win. Default 200. */
export const JOB_LOG_LIMIT = 200;

/** A scalar a log event may carry (nested objects are not kept: the full line is in the process log). */
export type JobLogValue = string | number | boolean | null;

/** One structured event of a job, as the admin dashboard shows it. */
export interface JobLogEvent {
  /** ISO time. */
  readonly at: string;
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly stage?: string;
  readonly window?: number;
  readonly attempt?: number;
  /** The worker (or `api`) that logged it. */
  readonly source?: string;
  /** The event's own scalar fields (`ms`, `iterations`, `reason`…). */
  readonly data?: Readonly<Record<string, JobLogValue>>;
}

/**
 * The recent events of each job in Redis (capped at {@link JOB_LOG_LIMIT}): the stage handlers' log lines (stage
 * started / done / failed / cancelled / handed back, and what the stages themselves log) and the operators'
 * actions. Writing never fails the caller: an event that cannot be stored is dropped.
 */
export class JobLog {
  constructor(
    private readonly redis: Redis,
    private readonly limit = JOB_LOG_LIMIT,
  ) {}

  async append(jobId: string, event: Omit<JobLogEvent, 'at'> & { at?: string }): Promise<void> {
    const full: JobLogEvent = { ...event, at: event.at ?? new Date().toISOString() };
    try {
      await this.redis
        .multi()
        .rpush(jobLogKey(jobId), JSON.stringify(full))
        .ltrim(jobLogKey(jobId), -this.limit, -1)
        .exec();
    } catch {
      // the job log is a convenience for operators: losing a line must not fail a stage
    }
  }

  /** The newest `count` events, oldest first. */
  async recent(jobId: string, count = 100): Promise<JobLogEvent[]> {
    const lines = await this.redis.lrange(jobLogKey(jobId), -Math.max(1, count), -1);
    return lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as JobLogEvent];
      } catch {
        return [];
      }
    });
  }
}

const LEVELS = { info: 'info', warn: 'warn', error: 'error', fatal: 'error' } as const;
type TeedLevel = keyof typeof LEVELS;
/** Bindings that say which job and process: already known to the job log, not repeated in each event. */
const CONTEXT_KEYS = new Set(['job', 'component', 'worker', 'queue', 'pid', 'stage', 'window', 'attempt']);
const MAX_TEXT = 300;

/** What a teed line becomes before it is stored. */
export type JobLogSink = (event: Omit<JobLogEvent, 'at' | 'stage' | 'window' | 'attempt' | 'source'>) => void;

/**
 * A logger that logs as `log` does and also hands every line at info level or above to `sink` (the job log), as a
 * message plus its scalar fields (an `err` becomes its message). Children keep teeing. pino has no per-child hook,
 * hence the proxy; everything but the level methods and `child` is the original logger's.
 */
export function teeLogger(log: Logger, sink: JobLogSink): Logger {
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'child') {
        return (bindings: Record<string, unknown>, options?: object) =>
          teeLogger(target.child(bindings, options), sink);
      }
      if (typeof prop === 'string' && prop in LEVELS) {
        const method = (target[prop as TeedLevel] as (...args: unknown[]) => void).bind(target);
        return (...args: unknown[]) => {
          method(...args);
          try {
            sink({ level: LEVELS[prop as TeedLevel], ...parseLogArgs(args) });
          } catch {
            // never let the job log break logging
          }
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** pino's call forms: (msg), (obj, msg?), (err, msg?). */
function parseLogArgs(args: readonly unknown[]): { msg: string; data?: Record<string, JobLogValue> } {
  const [first, second] = args;
  if (typeof first === 'string') return { msg: clip(first) };
  if (first instanceof Error)
    return { msg: clip(typeof second === 'string' ? second : first.message), data: { error: clip(first.message) } };
  const data: Record<string, JobLogValue> = {};
  if (first && typeof first === 'object') {
    for (const [key, value] of Object.entries(first as Record<string, unknown>)) {
      if (CONTEXT_KEYS.has(key)) continue;
      const scalar = toScalar(value);
      if (scalar !== undefined) data[key] = scalar;
    }
  }
  const msg = typeof second === 'string' ? clip(second) : '';
  return Object.keys(data).length > 0 ? { msg, data } : { msg };
}

function toScalar(value: unknown): JobLogValue | undefined {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') return clip(value);
  if (value instanceof Error) return clip(value.message);
  if (Array.isArray(value) && value.every((v) => typeof v === 'number' || typeof v === 'string'))
    return clip(value.join(', '));
  return undefined;
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
