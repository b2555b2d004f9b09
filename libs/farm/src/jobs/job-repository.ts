import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { farmMetrics } from '../metrics/farm-metrics';
import { fromHash, TIMING_FIELD_PREFIX, toHash, type JobPatch, type JobRecord } from './job-record';
import {
  IllegalTransitionError,
  isJobState,
  isTerminal,
  JOB_STATES,
  sourcesOf,
  type JobState,
  type StageName,
} from './states';

/** Redis keys of the job records (all under `farm:`; BullMQ's own keys are under `bull:`). */
export const JOB_KEYS = {
  record: (id: string) => `farm:job:${id}`,
  /** Every job, scored by `seq` (newest = highest). */
  all: 'farm:jobs',
  /** Jobs in one state, scored by `seq`. */
  byState: (state: JobState) => `farm:jobs:${state}`,
  /** Jobs of one owner (API key id), scored by `seq`. */
  byOwner: (owner: string) => `farm:jobs:owner:${owner}`,
  seq: 'farm:jobs:seq',
  /** Indices of the job's render windows that finished (a set: a retried window counts once). */
  windowsDone: (id: string) => `farm:job:${id}:windows-done`,
  idempotency: (key: string) => `farm:idem:${createHash('sha256').update(key).digest('hex')}`,
  /** Pub/sub channel of record changes (the API's SSE streams read it). */
  events: 'farm:events',
  /** Pub/sub channel of cancellations (workers abort the job's running stage). */
  cancel: 'farm:cancel',
} as const;

export class JobNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`Job ${id} does not exist.`);
    this.name = 'JobNotFoundError';
  }
}

/**
 * Atomic check-and-set of a job record: moves it to ARGV[1] (or keeps its state when ARGV[1] is '') only when its
 * current state is one of ARGV[2] (JSON list, from the state table), then writes the field pairs ARGV[4..] and moves
 * its index entry between the per-state sets. Returns {0} missing, {1, state} refused, {2, state} done.
 */
const TRANSITION_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'state')
if not cur then return {0, ''} end
local ok = false
for _, s in ipairs(cjson.decode(ARGV[2])) do if s == cur then ok = true end end
if not ok then return {1, cur} end
local to = ARGV[1]
if to == '' then to = cur end
local args = {'state', to}
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(args))
if to ~= cur then
  local seq = redis.call('HGET', KEYS[1], 'seq')
  redis.call('ZREM', ARGV[3] .. cur, KEYS[2])
  redis.call('ZADD', ARGV[3] .. to, seq, KEYS[2])
end
return {2, to}
`;

/** A page of jobs, newest first; pass `nextCursor` back to get the next page (null: no more). */
export interface JobPage {
  readonly items: JobRecord[];
  readonly nextCursor: string | null;
}

/**
 * The job records in Redis: a hash per job plus sorted-set indexes (all jobs, jobs per state) for listing with
 * filters and cursor pagination. Every state change is checked against the state table atomically (Lua), so a
 * cancel and a worker's update cannot interleave into an illegal state. Every change is published on
 * `farm:events`. The only module that writes job records.
 */
export class JobRepository {
  constructor(private readonly redis: Redis) {}

  /** Stores a new record in state `queued`. */
  async create(record: Omit<JobRecord, 'seq' | 'state' | 'createdAt' | 'updatedAt'>): Promise<JobRecord> {
    const seq = await this.redis.incr(JOB_KEYS.seq);
    const now = new Date().toISOString();
    const full: JobRecord = { ...record, state: 'queued', seq, createdAt: now, updatedAt: now };
    // Ids are server-generated UUIDs, so a collision is not a case to handle; one transaction writes hash + indexes.
    const m = this.redis
      .multi()
      .hset(JOB_KEYS.record(record.id), toHash(full))
      .zadd(JOB_KEYS.all, seq, record.id)
      .zadd(JOB_KEYS.byState('queued'), seq, record.id);
    if (full.owner) m.zadd(JOB_KEYS.byOwner(full.owner), seq, record.id);
    await m.exec();
    await this.publish(full);
    return full;
  }

  async get(id: string): Promise<JobRecord | null> {
    const hash = await this.redis.hgetall(JOB_KEYS.record(id));
    return hash.state ? fromHash(hash) : null;
  }

  /** The record, or `JobNotFoundError`. */
  async require(id: string): Promise<JobRecord> {
    const record = await this.get(id);
    if (!record) throw new JobNotFoundError(id);
    return record;
  }

  /**
   * Moves the job to `to` (checked against the state table, atomically) and applies `patch`.
   * @throws IllegalTransitionError when the stored state may not go to `to`; JobNotFoundError when absent.
   */
  async transition(id: string, to: JobState, patch: JobPatch = {}): Promise<JobRecord> {
    return this.apply(id, to, sourcesOf(to), patch);
  }

  /**
   * Applies `patch` without a state change, only while the job is in one of `whileIn` (a progress report must not
   * touch a job that was cancelled meanwhile). Returns null when the job was in another state.
   */
  async update(id: string, whileIn: readonly JobState[], patch: JobPatch): Promise<JobRecord | null> {
    try {
      return await this.apply(id, '', whileIn, patch);
    } catch (err) {
      if (err instanceof IllegalTransitionError) return null;
      throw err;
    }
  }

  /**
   * Counts render window `index` as finished and sets `windowsDone` while the job is rendering (null otherwise).
   * Windows finish in parallel: the count comes from a set, and is written again until it is the set's size, so
   * two renderers finishing together cannot leave a lower count behind.
   */
  async markWindowDone(id: string, index: number): Promise<JobRecord | null> {
    const set = JOB_KEYS.windowsDone(id);
    await this.redis.sadd(set, String(index));
    let record: JobRecord | null = null;
    for (let written = -1; ;) {
      const count = await this.redis.scard(set);
      if (count === written) return record;
      record = await this.update(id, ['rendering'], { windowsDone: count });
      if (!record) return null;
      written = count;
    }
  }

  /**
   * Adds `ms` to a stage's timing, atomically (HINCRBY) and in any state: the next stage may already have moved
   * the job on when an attempt's time is booked.
   */
  async addTiming(id: string, stage: StageName, ms: number): Promise<void> {
    const key = JOB_KEYS.record(id);
    if (!(await this.redis.exists(key))) return;
    await this.redis.hincrby(key, `${TIMING_FIELD_PREFIX}${stage}`, Math.max(0, Math.round(ms)));
  }

  /**
   * Newest first; `state` filters; `cursor` is a previous page's `nextCursor`; `owner` keeps one API key's jobs
   * (read from the owner's index, filtered by state while paging).
   */
  async list(options: { state?: JobState; limit: number; cursor?: string | null; owner?: string }): Promise<JobPage> {
    if (options.owner !== undefined) return this.listOwned({ ...options, owner: options.owner });
    const key = options.state ? JOB_KEYS.byState(options.state) : JOB_KEYS.all;
    const max = options.cursor ? `(${decodeCursor(options.cursor)}` : '+inf';
    const ids = await this.redis.zrevrangebyscore(key, max, '-inf', 'LIMIT', 0, options.limit);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(JOB_KEYS.record(id));
    const hashes = ((await pipeline.exec()) ?? []).map(([, h]) => h as Record<string, string>);
    const items = hashes.filter((h) => h.state).map(fromHash);
    const last = items[items.length - 1];
    return { items, nextCursor: ids.length === options.limit && last ? encodeCursor(last.seq) : null };
  }

  /** One owner's jobs, newest first; a state filter skips the others, reading at most 20 batches per page. */
  private async listOwned(options: {
    state?: JobState;
    limit: number;
    cursor?: string | null;
    owner: string;
  }): Promise<JobPage> {
    const items: JobRecord[] = [];
    const batch = Math.max(options.limit, 50);
    let below = options.cursor ? decodeCursor(options.cursor) : undefined;
    for (let round = 0; round < 20; round++) {
      const max = below === undefined ? '+inf' : `(${below}`;
      const flat = await this.redis.zrevrangebyscore(
        JOB_KEYS.byOwner(options.owner),
        max,
        '-inf',
        'WITHSCORES',
        'LIMIT',
        0,
        batch,
      );
      const pipeline = this.redis.pipeline();
      for (let i = 0; i < flat.length; i += 2) pipeline.hgetall(JOB_KEYS.record(flat[i]!));
      const hashes = ((await pipeline.exec()) ?? []).map(([, h]) => h as Record<string, string>);
      for (const [i, hash] of hashes.entries()) {
        below = Number(flat[2 * i + 1]);
        if (!hash.state) continue;
        const record = fromHash(hash);
        if (options.state && record.state !== options.state) continue;
        items.push(record);
        if (items.length === options.limit) return { items, nextCursor: encodeCursor(record.seq) };
      }
      if (flat.length < 2 * batch) return { items, nextCursor: null };
    }
    // Many of the owner's jobs are in other states: hand back what was found and where the scan stopped.
    return { items, nextCursor: below === undefined ? null : encodeCursor(below) };
  }

  /** How many jobs are in each state. */
  async countByState(): Promise<Record<JobState, number>> {
    const pipeline = this.redis.pipeline();
    for (const state of JOB_STATES) pipeline.zcard(JOB_KEYS.byState(state));
    const counts = (await pipeline.exec()) ?? [];
    return Object.fromEntries(JOB_STATES.map((s, i) => [s, Number(counts[i]?.[1] ?? 0)])) as Record<JobState, number>;
  }

  /** Removes a record and its index entries (a rejected upload whose record was already created). */
  async delete(id: string): Promise<void> {
    const owner = await this.redis.hget(JOB_KEYS.record(id), 'owner');
    const m = this.redis.multi().del(JOB_KEYS.record(id), JOB_KEYS.windowsDone(id)).zrem(JOB_KEYS.all, id);
    if (owner) m.zrem(JOB_KEYS.byOwner(owner), id);
    for (const state of JOB_STATES) m.zrem(JOB_KEYS.byState(state), id);
    await m.exec();
  }

  /**
   * Claims an `Idempotency-Key` for a new job id for `ttlS` seconds. Returns the id that owns the key: `id` when
   * the claim is new, another job's id when the key was used before.
   */
  async claimIdempotencyKey(key: string, id: string, ttlS = 24 * 3600): Promise<string> {
    const claimed = await this.redis.set(JOB_KEYS.idempotency(key), id, 'EX', ttlS, 'NX');
    if (claimed === 'OK') return id;
    return (await this.redis.get(JOB_KEYS.idempotency(key))) ?? id;
  }

  /** Releases a claim made by `id` (its upload was rejected, so the key may be used again). */
  async releaseIdempotencyKey(key: string, id: string): Promise<void> {
    const k = JOB_KEYS.idempotency(key);
    if ((await this.redis.get(k)) === id) await this.redis.del(k, `${k}:body`);
  }

  /**
   * Remembers the fingerprint of the body that claimed `key` (for as long as the claim), so a later request with
   * the same key and another body can be refused (422) instead of silently answered with the first job.
   */
  async setIdempotencyFingerprint(key: string, fingerprint: string, ttlS = 24 * 3600): Promise<void> {
    await this.redis.set(`${JOB_KEYS.idempotency(key)}:body`, fingerprint, 'EX', ttlS);
  }

  /** The fingerprint stored by {@link setIdempotencyFingerprint}; null while the first request is still uploading. */
  async idempotencyFingerprint(key: string): Promise<string | null> {
    return this.redis.get(`${JOB_KEYS.idempotency(key)}:body`);
  }

  /** Announces a cancellation to every worker (they abort the job's running stage). */
  async announceCancel(id: string): Promise<void> {
    await this.redis.publish(JOB_KEYS.cancel, id);
  }

  private async apply(id: string, to: JobState | '', from: readonly JobState[], patch: JobPatch): Promise<JobRecord> {
    const fields = { ...toHash(patch as Partial<JobRecord>), updatedAt: new Date().toISOString() };
    const [code, state] = (await this.redis.eval(
      TRANSITION_SCRIPT,
      2,
      JOB_KEYS.record(id),
      id,
      to,
      JSON.stringify(from),
      'farm:jobs:',
      ...Object.entries(fields).flat(),
    )) as [number, string];
    if (code === 0) throw new JobNotFoundError(id);
    if (code === 1) {
      if (!isJobState(state)) throw new Error(`Job ${id} has an unknown state ${JSON.stringify(state)}.`);
      throw new IllegalTransitionError(state, to === '' ? state : to);
    }
    const record = await this.require(id);
    await this.publish(record);
    // The one place every job ends (done, failed, cancelled), in whichever process ends it.
    if (to !== '' && isTerminal(record.state)) farmMetrics().observeJobEnd(record);
    return record;
  }

  private async publish(record: JobRecord): Promise<void> {
    await this.redis.publish(JOB_KEYS.events, JSON.stringify(record));
  }
}

function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

/** The `seq` inside a cursor; a cursor that was not made by this repository is an error the API maps to 400. */
export function decodeCursor(cursor: string): number {
  const m = /^s(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new InvalidCursorError();
  return Number(m[1]);
}

export class InvalidCursorError extends Error {
  constructor() {
    super('The cursor is not one this API returned: pass the nextCursor of a previous page, or none.');
    this.name = 'InvalidCursorError';
  }
}
