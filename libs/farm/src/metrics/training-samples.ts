import type { Redis } from 'ioredis';

/** Redis key of a job's training curve (a list next to the job's record hash). */
export const trainingSamplesKey = (id: string): string => `farm:job:${id}:training`;

/** Most samples kept per job. Default 500. */
export const TRAINING_SAMPLE_LIMIT = 500;

/** One point of a job's training curve: loss and mean σ (the model's uncertainty) at an iteration. */
export interface TrainingSample {
  readonly iteration: number;
  /** Training loss, or null when the trainer did not report it. */
  readonly loss: number | null;
  /** Mean predicted σ (Laplace scale of the photometric residual), or null. */
  readonly sigma: number | null;
  /** Epoch milliseconds. */
  readonly at: number;
}

/**
 * Keeps every n-th sample so that a whole training fits in `limit` points: n = ⌈total / limit⌉ iterations apart.
 * The first and last iterations are always kept.
 */
export function keepSample(
  iteration: number,
  total: number,
  lastKept: number | undefined,
  limit = TRAINING_SAMPLE_LIMIT,
): boolean {
  if (lastKept === undefined || iteration >= total || iteration < lastKept) return true;
  return iteration - lastKept >= Math.max(1, Math.ceil(total / limit));
}

/**
 * Appends a sample; past `limit` the list is thinned to every second point (the newest kept), so a curve stays
 * bounded even when retries or resumes add more than one training's worth.
 */
const APPEND_SCRIPT = `
redis.call('RPUSH', KEYS[1], ARGV[1])
local n = redis.call('LLEN', KEYS[1])
if n > tonumber(ARGV[2]) then
  local all = redis.call('LRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1])
  for i = 1, #all, 2 do redis.call('RPUSH', KEYS[1], all[i]) end
  if #all % 2 == 0 then redis.call('RPUSH', KEYS[1], all[#all]) end
end
return n
`;

/** The training curves of jobs in Redis (written by the train stage's worker, read by the admin dashboard). */
export class TrainingSamples {
  constructor(
    private readonly redis: Redis,
    private readonly limit = TRAINING_SAMPLE_LIMIT,
  ) {}

  async add(jobId: string, sample: TrainingSample): Promise<void> {
    await this.redis.eval(APPEND_SCRIPT, 1, trainingSamplesKey(jobId), JSON.stringify(sample), String(this.limit));
  }

  /** Every sample, in the order they were recorded. */
  async list(jobId: string): Promise<TrainingSample[]> {
    const lines = await this.redis.lrange(trainingSamplesKey(jobId), 0, -1);
    return lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as TrainingSample];
      } catch {
        return [];
      }
    });
  }
}
