import type { Redis } from 'ioredis';
import { JOB_KEYS } from '../jobs/job-repository';
import { JOB_STATES, isTerminal } from '../jobs/states';

/** What a reservation attempt found. */
export type QuotaDecision =
  { readonly granted: true; readonly active: number } | { readonly granted: false; readonly active: number };

/**
 * KEYS[1]: the owner's reservations (job id → reserved at, ms). ARGV: job id, max, stale ms, record key prefix,
 * then the terminal states. Prunes reservations whose job ended (or whose upload died without a record for longer
 * than `stale`), then grants the new one if fewer than `max` remain. Self-healing: nothing has to release a slot
 * when a job ends, the next reservation sees it ended.
 */
const RESERVE_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local terminal = {}
for i = 5, #ARGV do terminal[ARGV[i]] = true end
local active = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local id = entries[i]
  local state = redis.call('HGET', ARGV[4] .. id, 'state')
  if (not state and now - tonumber(entries[i + 1]) > tonumber(ARGV[3])) or (state and terminal[state]) then
    redis.call('ZREM', KEYS[1], id)
  else
    active = active + 1
  end
end
if active >= tonumber(ARGV[2]) then return {0, active} end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return {1, active + 1}
`;

/**
 * The concurrent-job quota of an owner (an API key): how many of its jobs may be unfinished at once. A slot is
 * reserved before the upload is read (so a burst of uploads cannot all pass the check) and frees itself when the
 * job reaches done, failed or cancelled; a rejected upload releases it at once.
 */
export class ActiveJobQuota {
  /** A reservation without a job record is an upload in progress for at most this long. Default 1 h. */
  constructor(
    private readonly redis: Redis,
    private readonly staleMs = 3_600_000,
  ) {}

  async reserve(owner: string, jobId: string, max: number): Promise<QuotaDecision> {
    const terminal = JOB_STATES.filter(isTerminal);
    const [granted, active] = (await this.redis.eval(
      RESERVE_SCRIPT,
      1,
      quotaKey(owner),
      jobId,
      String(max),
      String(this.staleMs),
      JOB_KEYS.record(''),
      ...terminal,
    )) as [number, number];
    return { granted: granted === 1, active };
  }

  async release(owner: string, jobId: string): Promise<void> {
    await this.redis.zrem(quotaKey(owner), jobId);
  }
}

function quotaKey(owner: string): string {
  return `farm:quota:${owner}`;
}
