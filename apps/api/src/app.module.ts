import { Module, type DynamicModule } from '@nestjs/common';
import { FarmController } from './controllers/farm.controller';
import { JobsController } from './controllers/jobs.controller';
import { farmProviders, type ApiDependencies } from './repositories/farm.providers';
import { JobEventsService } from './services/job-events.service';
import { JobsService } from './services/jobs.service';
import { UploadService } from './services/upload.service';

/** The API: controllers → services → repositories (libs/farm), wired from explicit dependencies. */
@Module({})
export class ApiModule {
  static forRoot(deps: ApiDependencies): DynamicModule {
    return {
      module: ApiModule,
      controllers: [JobsController, FarmController],
      providers: [...farmProviders(deps), JobsService, UploadService, JobEventsService],
    };
  }
}
