import { Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { listLooks } from '@streamedit/pipeline';
import { FlowScheduler, WorkerRepository, type ArtifactStore, type QueueName } from '@streamedit/farm';
import { ARTIFACT_STORE } from '../api.tokens';
import { AdminOnly, Public } from '../auth/auth.decorators';
import { ErrorDto } from '../dtos/job.dto';
import { HealthDto, QueueDepthDto, WorkerDto } from '../dtos/worker.dto';

/**
 * Operating the farm: health, queue depths (also KEDA's metrics-api source, so public like health and looks), and
 * the workers (admin only: their ids and failures are operators' business).
 */
@ApiTags('farm')
@Controller('v1')
export class FarmController {
  constructor(
    private readonly workers: WorkerRepository,
    private readonly flows: FlowScheduler,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {}

  @Get('health')
  @Public()
  @ApiResponse({ status: 200, type: HealthDto })
  async health(): Promise<HealthDto> {
    await this.flows.depths();
    return { status: 'ok', storage: this.store.kind };
  }

  @Get('queues')
  @Public()
  @ApiOperation({ summary: 'Waiting and running jobs per queue.' })
  @ApiResponse({ status: 200, description: 'A QueueDepth per queue name.', type: QueueDepthDto, isArray: false })
  async queues(): Promise<Record<QueueName, QueueDepthDto>> {
    return this.flows.depths();
  }

  @Get('workers')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiResponse({ status: 401, type: ErrorDto, description: 'No valid credential.' })
  @ApiResponse({ status: 403, type: ErrorDto, description: 'Not an admin key.' })
  @ApiOperation({ summary: 'Workers seen recently, and blocked ones.' })
  @ApiResponse({ status: 200, type: [WorkerDto] })
  async listWorkers(): Promise<WorkerDto[]> {
    return (await this.workers.list()).map((w) => ({ ...w, queues: [...w.queues] }));
  }

  @Delete('workers/:id/block')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiResponse({ status: 401, type: ErrorDto, description: 'No valid credential.' })
  @ApiResponse({ status: 403, type: ErrorDto, description: 'Not an admin key.' })
  @HttpCode(200)
  @ApiOperation({ summary: 'Clear a blocked worker (it stopped after failing several jobs in a row).' })
  @ApiResponse({ status: 200, type: WorkerDto })
  @ApiResponse({ status: 404, type: ErrorDto })
  async unblock(@Param('id') id: string): Promise<WorkerDto> {
    if (!(await this.workers.unblock(id)))
      throw new NotFoundException(`Worker ${id.slice(0, 128)} is not known: see GET /v1/workers.`);
    const status = (await this.workers.get(id))!;
    return { ...status, queues: [...status.queues] };
  }

  @Get('looks')
  @Public()
  @ApiOperation({ summary: 'The built-in looks a job may ask for (`look` field).' })
  looks(): Array<{ name: string; description: string }> {
    return listLooks().map((l) => ({ name: l.name, description: l.description }));
  }
}
