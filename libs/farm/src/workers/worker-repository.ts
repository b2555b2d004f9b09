import type { Redis } from 'ioredis';

/** Redis keys of worker state. */
export const WORKER_KEYS = {
  record: (id: string) => `farm:worker:${id}`,
  /** Every worker seen, scored by last heartbeat (ms). */
  all: 'farm:workers',
  /** Pub/sub channel: `{"workerId": …, "action": "unblock"}` from the API to a blocked worker. */
  control: 'farm:workers:control',
} as const;

/** What the API shows about a worker. */
export interface WorkerStatus {
  readonly id: string;
  readonly role: string;
  readonly queues: readonly string[];
  readonly state: 'running' | 'blocked' | 'stopping';
  readonly consecutiveFailures: number;
  readonly blockedReason: string | null;
  readonly blockedAt: string | null;
  readonly lastSeen: string;
}

export interface WorkerControlMessage {
  readonly workerId: string;
  readonly action: 'unblock';
}

/** Workers silent longer than this are not listed (they died without a goodbye). */
const STALE_MS = 2 * 60_000;

/**
 * Worker state in Redis: heartbeats, the blocked mark a worker sets on itself after too many failures in a row
 * (it survives a restart of the same worker id), and the operator's unblock.
 */
export class WorkerRepository {
  constructor(private readonly redis: Redis) {}

  async heartbeat(status: Omit<WorkerStatus, 'lastSeen' | 'blockedReason' | 'blockedAt'>): Promise<void> {
    const now = Date.now();
    await this.redis
      .multi()
      .hset(WORKER_KEYS.record(status.id), {
        role: status.role,
        queues: status.queues.join(','),
        state: status.state,
        consecutiveFailures: String(status.consecutiveFailures),
        lastSeen: new Date(now).toISOString(),
      })
      .zadd(WORKER_KEYS.all, now, status.id)
      .exec();
  }

  async markBlocked(id: string, reason: string): Promise<void> {
    await this.redis.hset(WORKER_KEYS.record(id), {
      state: 'blocked',
      blockedReason: reason,
      blockedAt: new Date().toISOString(),
    });
  }

  async isBlocked(id: string): Promise<boolean> {
    return (await this.redis.hget(WORKER_KEYS.record(id), 'state')) === 'blocked';
  }

  /** Clears a block and tells the worker to take work again. Returns false for an unknown worker. */
  async unblock(id: string): Promise<boolean> {
    if (!(await this.redis.exists(WORKER_KEYS.record(id)))) return false;
    await this.redis.hset(WORKER_KEYS.record(id), {
      state: 'running',
      blockedReason: '',
      blockedAt: '',
      consecutiveFailures: '0',
    });
    await this.redis.publish(
      WORKER_KEYS.control,
      JSON.stringify({ workerId: id, action: 'unblock' } satisfies WorkerControlMessage),
    );
    return true;
  }

  async get(id: string): Promise<WorkerStatus | null> {
    const h = await this.redis.hgetall(WORKER_KEYS.record(id));
    return h.role ? toStatus(id, h) : null;
  }

  /** Workers seen in the last two minutes, and blocked ones whatever their age (they wait for an operator). */
  async list(): Promise<WorkerStatus[]> {
    const ids = await this.redis.zrevrange(WORKER_KEYS.all, 0, 999);
    const out: WorkerStatus[] = [];
    for (const id of ids) {
      const s = await this.get(id);
      if (s && (s.state === 'blocked' || Date.now() - Date.parse(s.lastSeen) < STALE_MS)) out.push(s);
    }
    return out;
  }

  /** A worker that stopped on purpose is forgotten. */
  async remove(id: string): Promise<void> {
    await this.redis.multi().del(WORKER_KEYS.record(id)).zrem(WORKER_KEYS.all, id).exec();
  }
}

function toStatus(id: string, h: Record<string, string>): WorkerStatus {
  return {
    id,
    role: h.role ?? '',
    queues: (h.queues ?? '').split(',').filter(Boolean),
    state: (h.state as WorkerStatus['state']) ?? 'running',
    consecutiveFailures: Number(h.consecutiveFailures ?? 0),
    blockedReason: h.blockedReason || null,
    blockedAt: h.blockedAt || null,
    lastSeen: h.lastSeen ?? new Date(0).toISOString(),
  };
}
