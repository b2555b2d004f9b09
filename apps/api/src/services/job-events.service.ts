import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { concat, filter, finalize, map, Observable, of, ReplaySubject, Subject, takeWhile } from 'rxjs';
import { isTerminal, JOB_KEYS, type JobRecord } from '@streamedit/farm';
import { logger } from '@streamedit/pipeline';
import { REDIS } from '../api.tokens';

/** One SSE message (Nest's `MessageEvent` shape). */
export interface JobEventMessage {
  readonly type: string;
  readonly data: JobRecord;
}

/**
 * Progress as server-sent events: one Redis subscription per API process (`farm:events`, published by the job
 * repository on every change) fanned out to every open stream. A stream starts with the current record and ends
 * after the job's terminal state.
 */
@Injectable()
export class JobEventsService implements OnModuleDestroy {
  private readonly log = logger('api');
  private readonly records = new Subject<JobRecord>();
  private subscriber?: Redis;
  private ready?: Promise<void>;

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /**
   * The record now (`load`, which throws for an unknown job), then every change, until the job is done, failed or
   * cancelled. Changes are buffered from before `load`, so none falls between the snapshot and the stream.
   */
  async stream(id: string, load: () => Promise<JobRecord>): Promise<Observable<JobEventMessage>> {
    await this.subscribe();
    const buffered = new ReplaySubject<JobRecord>();
    const subscription = this.records.pipe(filter((r) => r.id === id)).subscribe(buffered);
    let current: JobRecord;
    try {
      current = await load();
    } catch (err) {
      subscription.unsubscribe();
      throw err;
    }
    const snapshot = JSON.stringify(current);
    const changes = buffered.pipe(
      filter((r) => r.updatedAt >= current.updatedAt && JSON.stringify(r) !== snapshot),
      takeWhile((r) => !isTerminal(r.state), true),
    );
    const all = isTerminal(current.state) ? of(current) : concat(of(current), changes);
    return all.pipe(
      map((r) => ({ type: isTerminal(r.state) ? r.state : 'progress', data: r })),
      finalize(() => subscription.unsubscribe()),
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.records.complete();
    this.subscriber?.disconnect();
  }

  private subscribe(): Promise<void> {
    this.ready ??= (async () => {
      this.subscriber = this.redis.duplicate();
      this.subscriber.on('message', (_channel: string, message: string) => {
        try {
          this.records.next(JSON.parse(message) as JobRecord);
        } catch (err) {
          this.log.warn({ err }, 'unreadable job event');
        }
      });
      await this.subscriber.subscribe(JOB_KEYS.events);
    })();
    return this.ready;
  }
}
