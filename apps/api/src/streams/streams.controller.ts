import { Body, Controller, HttpCode, HttpException, Inject, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { JobNotFoundError, JobRepository, type ArtifactStore, type FarmConfig } from '@streamedit/farm';
import { ARTIFACT_STORE, FARM_CONFIG } from '../api.tokens';
import { canSee, principalOf } from '../auth/principal';
import { downloadJobModel, JobNotStreamableError } from './job-model';
import { StreamRegistry, TooManyStreamsError, CONNECT_WITHIN_MS } from './stream-registry';
import { parseStreamRequest } from './stream-request';
import { STREAM_PATH } from './stream-socket';

/** `POST /v1/streams`' answer: where to connect. */
export interface CreateStreamResponse {
  readonly id: string;
  /** The WebSocket to connect to (binary frames in and out, JSON text for control and events). */
  readonly url: string;
  /** Connect before this time, or the stream is dropped. */
  readonly expiresAt: string;
}

@ApiTags('streams')
@ApiBearerAuth()
@Controller('v1/streams')
export class StreamsController {
  constructor(
    private readonly registry: StreamRegistry,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Open a live editing stream: a finished job’s model, or a warm-up on the first frames.' })
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        jobId: { type: 'string', description: 'A finished job: its model and edit are used.' },
        warmup: {
          type: 'object',
          description:
            'Fit on the first frames instead: {frames, preset: tiny|cpu, iterations?, edit: {look|prompt, at?}}.',
        },
        policy: { type: 'string', enum: ['drop-oldest', 'block'], default: 'drop-oldest' },
        arr: { description: 'false, or {threshold, budgetPer100, persistence}' },
        output: { type: 'string', enum: ['same', 'rgb', 'jpeg'], default: 'same' },
      },
    },
  })
  @ApiResponse({ status: 201, description: '{id, url, expiresAt}: connect a WebSocket to url.' })
  @ApiResponse({ status: 404, description: 'Unknown job.' })
  @ApiResponse({ status: 409, description: 'The job is not done.' })
  @ApiResponse({ status: 503, description: 'Too many streams are open.' })
  async create(@Body() body: unknown, @Req() req: Request): Promise<CreateStreamResponse> {
    const spec = parseStreamRequest(body);
    // A key streams only its own jobs' models (another key's job is a 404, as in /v1/jobs). The socket URL that
    // comes back is a capability: unguessable, for one connection, expiring if unused (see StreamRegistry).
    if (spec.source.kind === 'job') {
      const record = await this.jobs.get(spec.source.jobId);
      if (record && !canSee(principalOf(req), record)) throw new JobNotFoundError(spec.source.jobId);
    }
    try {
      this.registry.assertRoom();
      const workDir =
        spec.source.kind === 'job' ? await downloadJobModel(this.jobs, this.store, spec.source.jobId) : undefined;
      const entry = this.registry.add(spec, workDir);
      return {
        id: entry.id,
        url: `${this.socketBase(req)}${STREAM_PATH}/${entry.id}`,
        expiresAt: new Date(entry.createdAt.getTime() + CONNECT_WITHIN_MS).toISOString(),
      };
    } catch (err) {
      if (err instanceof JobNotStreamableError) throw new HttpException(err.message, err.status);
      if (err instanceof TooManyStreamsError) throw new HttpException(err.message, 503);
      throw err;
    }
  }

  /** ws(s)://host of this API as the client reached it (or the configured public URL). */
  private socketBase(req: Request): string {
    if (this.config.publicUrl) return this.config.publicUrl.replace(/\/+$/, '').replace(/^http/, 'ws');
    return `${req.protocol === 'https' ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}`;
  }
}
