import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { FarmMetrics } from './farm-metrics';

/** Redis keys of the metrics snapshots (one per process that has farm metrics). */
export const METRICS_KEYS = {
  snapshot: (instanceId: string) => `farm:metrics:${instanceId}`,
  /** Every snapshot's instance id, scored by its last publish (ms). */
  instances: 'farm:metrics:instances',
} as const;

/**
 * How long a process's snapshot outlives its last publish. Workers publish on every heartbeat (10 s) and after each
 * stage; a worker that is gone (scaled to zero, killed) drops out after this, which Prometheus sees as a counter
 * reset (`rate()` copes).
 */
export const METRICS_SNAPSHOT_TTL_S = 600;

/** One process's metrics as prom-client's JSON (`Registry.getMetricsAsJSON()`). */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Stores this process's metrics for the API's `/metrics` (see `FarmMetrics`). */
export async function publishMetricsSnapshot(
  redis: Redis,
  metrics: FarmMetrics,
  ttlS = METRICS_SNAPSHOT_TTL_S,
): Promise<void> {
  const json = JSON.stringify(await metrics.registry.getMetricsAsJSON());
  await redis
    .multi()
    .set(METRICS_KEYS.snapshot(metrics.instanceId), json, 'EX', ttlS)
    .zadd(METRICS_KEYS.instances, Date.now(), metrics.instanceId)
    .exec();
}

/** Every live snapshot but `exceptInstanceId`'s (the reader's own process, whose registry it reads directly). */
export async function readMetricsSnapshots(
  redis: Redis,
  exceptInstanceId: string,
  ttlS = METRICS_SNAPSHOT_TTL_S,
): Promise<MetricsSnapshot[]> {
  await redis.zremrangebyscore(METRICS_KEYS.instances, '-inf', String(Date.now() - ttlS * 1000));
  const ids = (await redis.zrange(METRICS_KEYS.instances, '0', '-1')).filter((id) => id !== exceptInstanceId);
  if (ids.length === 0) return [];
  const values = await redis.mget(ids.map((id) => METRICS_KEYS.snapshot(id)));
  const out: MetricsSnapshot[] = [];
  for (const value of values) {
    if (!value) continue;
    try {
      out.push(JSON.parse(value) as MetricsSnapshot);
    } catch {
      // a snapshot from an incompatible version: skipped rather than failing the scrape
    }
  }
  return out;
}
