import type { Redis } from 'ioredis';
import type { BenchmarkClip, BenchmarkRecord, BenchmarkState } from './benchmark-record';

const key = (id: string) => `farm:benchmark:${id}`;
const CLIP_FIELD = 'clip:';

/**
 * Benchmarks in Redis, one hash each: `meta` (the request, JSON), `state`, `error`, `finishedAt`, and one
 * `clip:{name}` field per clip, so workers finishing clips at the same time never overwrite each other.
 */
export class BenchmarkRepository {
  constructor(private readonly redis: Redis) {}

  async create(record: BenchmarkRecord): Promise<void> {
    const { state, error, finishedAt, clips, ...meta } = record;
    await this.redis.hset(key(record.id), {
      meta: JSON.stringify({ ...meta, clips: clips.map((c) => c.clip) }),
      state,
      error: error ?? '',
      finishedAt: finishedAt ?? '',
      ...Object.fromEntries(clips.map((c) => [`${CLIP_FIELD}${c.clip}`, JSON.stringify(c)])),
    });
  }

  async get(id: string): Promise<BenchmarkRecord | null> {
    const h = await this.redis.hgetall(key(id));
    if (!h.meta) return null;
    const meta = JSON.parse(h.meta) as Omit<BenchmarkRecord, 'clips' | 'state' | 'error' | 'finishedAt'> & {
      clips: string[];
    };
    return {
      ...meta,
      state: h.state as BenchmarkState,
      error: h.error || null,
      finishedAt: h.finishedAt || null,
      clips: meta.clips.map((c) => JSON.parse(h[`${CLIP_FIELD}${c}`]!) as BenchmarkClip),
    };
  }

  async setClip(id: string, clip: BenchmarkClip): Promise<void> {
    await this.redis.hset(key(id), `${CLIP_FIELD}${clip.clip}`, JSON.stringify(clip));
  }

  /** Moves an unfinished benchmark to `state` (a finished one stays as it is: a late clip cannot reopen it). */
  async setState(id: string, state: BenchmarkState, error?: string): Promise<void> {
    const current = await this.redis.hget(key(id), 'state');
    if (current === 'done' || current === 'failed') return;
    const ended = state === 'done' || state === 'failed';
    await this.redis.hset(key(id), { state, error: error ?? '', finishedAt: ended ? new Date().toISOString() : '' });
  }
}
