import { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FarmConfig } from '../config';
import { QUEUE_PREFIX } from '../jobs/queues';
import type { BenchmarkJobData, BenchmarkRecord } from './benchmark-record';

/** The queue of benchmark jobs, served by trainers (a clip's reconstruction trains three models). */
export const BENCHMARK_QUEUE = 'benchmark';

/** Its job names: one `clip` per clip, and their parent `report`, which runs once every clip is done. */
export const BENCHMARK_JOBS = ['clip', 'report'] as const;
export type BenchmarkJobName = (typeof BENCHMARK_JOBS)[number];

/** Puts a benchmark on the queue as one BullMQ flow: `report ← clip[0], clip[1], …` (clips run in parallel). */
export class BenchmarkScheduler {
  private readonly producer: FlowProducer;

  constructor(
    connection: Redis,
    private readonly config: FarmConfig,
  ) {
    this.producer = new FlowProducer({ connection, prefix: QUEUE_PREFIX });
  }

  async enqueue(record: BenchmarkRecord): Promise<void> {
    const opts = {
      attempts: this.config.jobAttempts,
      backoff: { type: 'exponential', delay: this.config.backoffMs },
      removeOnComplete: { count: this.config.keepCompleted },
      removeOnFail: { count: this.config.keepFailed },
    };
    await this.producer.add({
      name: 'report' satisfies BenchmarkJobName,
      queueName: BENCHMARK_QUEUE,
      data: { benchmarkId: record.id } satisfies BenchmarkJobData,
      opts: { ...opts, jobId: `${record.id}_report` },
      children: record.clips.map((c, i) => ({
        name: 'clip' satisfies BenchmarkJobName,
        queueName: BENCHMARK_QUEUE,
        data: { benchmarkId: record.id, clip: c.clip } satisfies BenchmarkJobData,
        // A clip that fails for good fails the report, so the benchmark ends instead of waiting for ever.
        opts: { ...opts, jobId: `${record.id}_clip_${i}`, failParentOnFailure: true },
      })),
    });
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}
