import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { logger } from '@streamedit/pipeline';
import { JobRepository, sweepLeftovers, type ArtifactStore, type FarmConfig, type SweepReport } from '@streamedit/farm';
import { ARTIFACT_STORE, FARM_CONFIG } from '../api.tokens';

/**
 * Runs {@link sweepLeftovers} every `FARM_SWEEP_INTERVAL_S` (off at 0) for leftovers older than `FARM_SWEEP_AGE_S`.
 * A sweep that fails (storage or Redis down) is logged and tried again at the next interval.
 */
@Injectable()
export class LeftoverSweeperService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = logger('api');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly jobs: JobRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.sweepIntervalS === 0) return;
    this.timer = setInterval(() => void this.sweep().catch(() => {}), this.config.sweepIntervalS * 1000);
    this.timer.unref();
  }

  /** One sweep now (also what the interval runs); concurrent calls share the one in progress. */
  async sweep(nowMs = Date.now()): Promise<SweepReport> {
    this.running ??= sweepLeftovers(
      { store: this.store, jobs: this.jobs, log: this.log },
      { olderThanS: this.config.sweepAgeS, nowMs },
    )
      .catch((err: unknown) => {
        this.log.warn({ err }, 'leftover sweep failed: trying again at the next interval');
        throw err;
      })
      .finally(() => (this.running = undefined));
    return this.running as Promise<SweepReport>;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => {});
  }
}
