import { Module, type DynamicModule } from '@nestjs/common';
import { ApiKeyRepository, FlowScheduler, JobRepository, WorkerRepository } from '@streamedit/farm';
import { AdminModule } from './admin/admin.module';
import { ARTIFACT_STORE, FARM_CONFIG, REDIS } from './api.tokens';
import { authProviders } from './auth/auth.providers';
import { Authenticator } from './auth/authenticator';
import { BenchmarksController } from './controllers/benchmarks.controller';
import { FarmController } from './controllers/farm.controller';
import { HealthModule } from './health/health.module';
import { JobsController } from './controllers/jobs.controller';
import { MetricsModule } from './metrics/metrics.module';
import { farmProviders, type ApiDependencies } from './repositories/farm.providers';
import { BenchmarksService } from './services/benchmarks.service';
import { JobEventsService } from './services/job-events.service';
import { JobsService } from './services/jobs.service';
import { LeftoverSweeperService } from './services/leftover-sweeper.service';
import { UploadService } from './services/upload.service';
import { StreamsModule } from './streams/streams.module';

/**
 * The API: controllers → services → repositories (libs/farm), wired from explicit dependencies. Global, so the
 * feature modules it imports (admin, metrics, health) get the shared Redis, store, config and repositories.
 */
@Module({})
export class ApiModule {
  static forRoot(deps: ApiDependencies): DynamicModule {
    return {
      module: ApiModule,
      global: true,
      imports: [HealthModule, MetricsModule, AdminModule, StreamsModule],
      controllers: [JobsController, FarmController, BenchmarksController],
      providers: [
        ...farmProviders(deps),
        ...authProviders(),
        JobsService,
        UploadService,
        JobEventsService,
        BenchmarksService,
        LeftoverSweeperService,
      ],
      exports: [
        FARM_CONFIG,
        REDIS,
        ARTIFACT_STORE,
        JobRepository,
        WorkerRepository,
        FlowScheduler,
        JobsService,
        ApiKeyRepository,
        Authenticator,
      ],
    };
  }
}
