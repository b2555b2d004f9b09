import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES, QUEUE_PREFIX, type QueueName } from '@streamedit/farm';
import { REDIS } from '../api.tokens';

/** The farm's BullMQ queues as `Queue` handles on the API's Redis connection (counts, pause, bull-board). */
@Injectable()
export class FarmQueues implements OnModuleDestroy {
  readonly all: ReadonlyMap<QueueName, Queue>;

  constructor(@Inject(REDIS) redis: Redis) {
    this.all = new Map(QUEUE_NAMES.map((name) => [name, new Queue(name, { connection: redis, prefix: QUEUE_PREFIX })]));
  }

  get(name: QueueName): Queue {
    return this.all.get(name)!;
  }

  /** Closes the handles; the shared connection stays open (its owner closes it). */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.all.values()].map((q) => q.close()));
  }
}
