import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A stream nobody connected to within this time is gone (its record expires, and so does its socket token). */
export const CONNECT_WITHIN_MS = 60_000;

/** Redis keys of live streams. */
export const STREAM_KEYS = {
  /** Hash {request, createdAt, claimed?}: expires {@link CONNECT_WITHIN_MS} after creation. */
  record: (id: string) => `farm:stream:${id}`,
} as const;

/** A stream as the API made it: the validated request body, kept as JSON so the streamer parses the same thing. */
export interface StreamRecord {
  readonly id: string;
  /** The `POST /v1/streams` body (already validated by the API; the streamer parses it again to get its spec). */
  readonly request: unknown;
  readonly createdAt: Date;
}

/** What claiming a stream for its connection gave: the record, or why not. */
export type StreamClaim =
  | { readonly kind: 'claimed'; readonly record: StreamRecord }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'taken' };

// One round trip, atomic: two connections racing for one stream cannot both win.
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'claimed', ARGV[1]) == 0 then return 1 end
return redis.call('HMGET', KEYS[1], 'request', 'createdAt')`;

/**
 * Stream records in Redis: the API writes one per `POST /v1/streams`, the streamer claims it when the client
 * connects. Being in Redis, not in the API's memory, a stream made before an API restart can still be connected,
 * and a running stream lives in the streamer only.
 */
export class StreamRecords {
  constructor(private readonly redis: Redis) {}

  /** Stores a new stream's request; it expires unless claimed within {@link CONNECT_WITHIN_MS}. */
  async create(request: unknown): Promise<StreamRecord> {
    const record: StreamRecord = { id: randomUUID(), request, createdAt: new Date() };
    await this.redis
      .multi()
      .hset(STREAM_KEYS.record(record.id), {
        request: JSON.stringify(request),
        createdAt: record.createdAt.toISOString(),
      })
      .pexpire(STREAM_KEYS.record(record.id), CONNECT_WITHIN_MS)
      .exec();
    return record;
  }

  /** Claims the stream for one connection, naming who holds it (e.g. the streamer's worker id). */
  async claim(id: string, holder: string): Promise<StreamClaim> {
    const r = (await this.redis.eval(CLAIM, 1, STREAM_KEYS.record(id), holder)) as number | [string, string];
    if (typeof r === 'number') return { kind: r === 0 ? 'unknown' : 'taken' };
    return { kind: 'claimed', record: { id, request: JSON.parse(r[0]) as unknown, createdAt: new Date(r[1]) } };
  }

  /** Forgets a stream (it ended); idempotent. */
  async remove(id: string): Promise<void> {
    await this.redis.del(STREAM_KEYS.record(id));
  }
}
