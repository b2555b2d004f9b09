import { Body, Controller, HttpCode, HttpException, Inject, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Redis } from 'ioredis';
import {
  CONNECT_WITHIN_MS,
  JobNotFoundError,
  JobNotStreamableError,
  JobRepository,
  parseStreamRequest,
  requireStreamableJob,
  signStreamToken,
  StreamRecords,
  type FarmConfig,
} from '@streamedit/farm';
import { FARM_CONFIG, REDIS } from '../api.tokens';
import { canSee, principalOf } from '../auth/principal';

/** `POST /v1/streams`' answer: where to connect. */
export interface CreateStreamResponse {
  readonly id: string;
  /** The streamer's WebSocket to connect to (binary frames in and out, JSON text for control and events). */
  readonly url: string;
  /** Connect before this time, or the stream is dropped (and the url's token has expired). */
  readonly expiresAt: string;
}

@ApiTags('streams')
@ApiBearerAuth()
@Controller('v1/streams')
export class StreamsController {
  private readonly records: StreamRecords;

  constructor(
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(REDIS) redis: Redis,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {
    this.records = new StreamRecords(redis);
  }

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
  @ApiResponse({ status: 201, description: '{id, url, expiresAt}: connect a WebSocket to url (the streamer).' })
  @ApiResponse({ status: 404, description: 'Unknown job.' })
  @ApiResponse({ status: 409, description: 'The job is not done.' })
  @ApiResponse({ status: 503, description: 'No streamer is configured (FARM_STREAMER_URL, FARM_STREAM_SECRET).' })
  async create(@Body() body: unknown, @Req() req: Request): Promise<CreateStreamResponse> {
    const spec = parseStreamRequest(body);
    // A key streams only its own jobs' models (another key's job is a 404, as in /v1/jobs).
    if (spec.source.kind === 'job') {
      const record = await this.jobs.get(spec.source.jobId);
      if (record && !canSee(principalOf(req), record)) throw new JobNotFoundError(spec.source.jobId);
      try {
        await requireStreamableJob(this.jobs, spec.source.jobId);
      } catch (err) {
        if (err instanceof JobNotStreamableError) throw new HttpException(err.message, err.status);
        throw err;
      }
    }
    const { streamerUrl, streamSecret } = this.config;
    if (!streamerUrl || !streamSecret)
      throw new HttpException(
        `Live streams are not available: ${streamerUrl ? 'FARM_STREAM_SECRET' : 'FARM_STREAMER_URL'} is not set on the API (streams run in the streamer, apps/streamer).`,
        503,
      );
    // The session itself runs in the streamer: here only its record (in Redis, so it outlives an API restart) and a
    // short-lived signed token for its one connection.
    const stream = await this.records.create(body);
    const expiresAtMs = stream.createdAt.getTime() + CONNECT_WITHIN_MS;
    const base = streamerUrl.replace(/\/+$/, '').replace(/^http/, 'ws');
    return {
      id: stream.id,
      url: `${base}/v1/streams/${stream.id}?token=${signStreamToken(streamSecret, stream.id, expiresAtMs)}`,
      expiresAt: new Date(expiresAtMs).toISOString(),
    };
  }
}
