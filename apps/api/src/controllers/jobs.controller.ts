import { pipeline } from 'node:stream/promises';
import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res, Sse } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { map, type Observable } from 'rxjs';
import { InputError } from '@streamedit/pipeline';
import { JOB_STATES, PRESETS, PRIORITIES, publicBaseUrl, type FarmConfig, type JobRecord } from '@streamedit/farm';
import { z } from 'zod';
import { FARM_CONFIG } from '../api.tokens';
import { AcceptsEventsUrl, CurrentPrincipal } from '../auth/auth.decorators';
import { EventsUrlSigner } from '../auth/events-url';
import type { Principal } from '../auth/principal';
import { CancelJobResponseDto, CreateJobResponseDto, ErrorDto, JobDto, JobListDto, toJobDto } from '../dtos/job.dto';
import { JobEventsService } from '../services/job-events.service';
import { JobsService, RESULT_ARTIFACTS, type ResultArtifact } from '../services/jobs.service';

const listQuery = z.object({
  state: z.enum(JOB_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
});
const resultQuery = z.object({
  artifact: z.enum(Object.keys(RESULT_ARTIFACTS) as [ResultArtifact, ...ResultArtifact[]]).default('video'),
});

/** Parses query parameters with zod; a bad one is a 400 naming the parameter. */
function parseQuery<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, query: unknown): T {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError(`Invalid query parameter "${issue.path.join('.')}": ${issue.message}.`);
}

@ApiTags('jobs')
@ApiBearerAuth()
@ApiResponse({ status: 400, type: ErrorDto, description: 'Bad request (the message says what to fix).' })
@ApiResponse({ status: 401, type: ErrorDto, description: 'No valid API key (`Authorization: Bearer sek_…`).' })
@ApiResponse({ status: 429, type: ErrorDto, description: 'Rate limit or job quota of the key: see `Retry-After`.' })
@Controller('v1/jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly jobEvents: JobEventsService,
    private readonly eventsUrls: EventsUrlSigner,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Upload a video and its edit; the farm edits every frame.' })
  @ApiConsumes('multipart/form-data')
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Same key and same body → same job (24 h); the same key with another body → 422.',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['video'],
      properties: {
        video: { type: 'string', format: 'binary', description: 'The portrait video (MP4, MOV, MKV, WebM).' },
        look: { type: 'string', description: 'Edit: a built-in look (GET /v1/looks).' },
        prompt: { type: 'string', description: 'Edit: a text instruction for the keyframe.' },
        overlay: { type: 'string', format: 'binary', description: 'Edit: an RGBA PNG laid over the keyframe.' },
        keyframe: {
          type: 'array',
          items: { type: 'string', format: 'binary' },
          description: 'Edit: edited frame(s) as PNG.',
        },
        keyframeAt: {
          type: 'string',
          description: 'Frame index of each keyframe image, comma-separated (e.g. "0,120").',
        },
        at: { type: 'integer', description: 'Frame a look, prompt or overlay applies to (default 0).' },
        frames: {
          type: 'integer',
          minimum: 1,
          description: 'Edit only the first N frames (default: all); more than the video has is a 422.',
        },
        upscaleKeyframe: {
          type: 'boolean',
          default: false,
          description:
            'Accept keyframe / overlay / prompt-answer images at the working size (the correspondence’s: longer ' +
            'side 512 by default) and upscale them onto the full-size frame. Without it an edit image must have the video’s ' +
            'displayed size; any other size is a 422 naming both sizes. Not for looks (400).',
        },
        preset: { type: 'string', enum: [...PRESETS], default: 'balanced' },
        priority: { type: 'string', enum: [...PRIORITIES], default: 'normal' },
        options: {
          type: 'string',
          description:
            'Alternatively, options as JSON: {"preset":"fast","priority":"high","frames":50,"upscaleKeyframe":true}.',
        },
      },
    },
  })
  @ApiResponse({ status: 202, type: CreateJobResponseDto })
  @ApiResponse({ status: 413, type: ErrorDto, description: 'The video or an image is over the size limit.' })
  @ApiResponse({ status: 415, type: ErrorDto, description: 'Not multipart/form-data.' })
  @ApiResponse({
    status: 422,
    type: ErrorDto,
    description:
      'Not a usable video (a still image, no video track, zero frames…), over the frame, duration or size limits, ' +
      'an edit image that is not a PNG of the video’s size (or of the working size with upscaleKeyframe=true), ' +
      'a prompt edit without an image editor, or an ' +
      'Idempotency-Key reused with another body.',
  })
  @ApiResponse({ status: 409, type: ErrorDto, description: 'The first request with this Idempotency-Key is running.' })
  async create(@Req() req: Request, @CurrentPrincipal() principal: Principal): Promise<CreateJobResponseDto> {
    // Read here rather than with @Headers(): Swagger would list that as a second, required header.
    const { id } = await this.jobs.create(req, req.get('idempotency-key'), principal);
    return { id, url: `${this.baseUrl(req)}/v1/jobs/${id}` };
  }

  @Get()
  @ApiOperation({ summary: 'List jobs, newest first.' })
  @ApiQuery({ name: 'state', required: false, enum: JOB_STATES })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1–100, default 20.' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page.' })
  @ApiResponse({ status: 200, type: JobListDto })
  async list(
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobListDto> {
    const q = parseQuery(listQuery, query);
    const page = await this.jobs.list(q.state, q.limit, q.cursor, principal);
    return { items: page.items.map((r) => this.dto(r, req)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'State, stage, progress, iterations, windows, timings and links of a job.' })
  @ApiResponse({ status: 200, type: JobDto })
  @ApiResponse({ status: 404, type: ErrorDto })
  async get(@Req() req: Request, @Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<JobDto> {
    return this.dto(await this.jobs.get(id, principal), req);
  }

  @Get(':id/result')
  @ApiOperation({ summary: 'The edited video (or report / uncertainty): a redirect to a presigned URL, or the file.' })
  @ApiQuery({ name: 'artifact', required: false, enum: Object.keys(RESULT_ARTIFACTS) })
  @ApiProduces('video/mp4', 'application/json')
  @ApiResponse({ status: 302, description: 'Presigned S3 URL (S3 storage).' })
  @ApiResponse({ status: 200, description: 'The file (local storage).' })
  @ApiResponse({ status: 404, type: ErrorDto })
  @ApiResponse({ status: 409, type: ErrorDto, description: 'The job is not done (or was cancelled, or failed).' })
  async result(
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    const { artifact } = parseQuery(resultQuery, query);
    const delivery = await this.jobs.result(id, artifact, principal);
    if (delivery.kind === 'redirect') return res.redirect(302, delivery.url);
    res.status(200).type(delivery.contentType).attachment(delivery.name);
    await pipeline(delivery.body, res);
  }

  @Sse(':id/events')
  @AcceptsEventsUrl()
  @ApiOperation({
    summary:
      'Server-sent events: the job (the same JSON as GET /v1/jobs/{id}) on every change, until it is done, failed or ' +
      'cancelled. Authenticate with the Bearer key, or open `links.events` (signed, no header needed: EventSource).',
  })
  @ApiQuery({ name: 'access', required: false, description: 'The signature of a signed events URL (links.events).' })
  @ApiProduces('text/event-stream')
  @ApiResponse({
    status: 200,
    description:
      'An event stream: each event is `event: progress` (or the final state: `done`, `failed`, `cancelled`) with ' +
      '`data:` a Job as JSON.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 404, type: ErrorDto })
  async events(
    @Req() req: Request,
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Observable<{ type: string; data: JobDto }>> {
    const events = await this.jobEvents.stream(id, () => this.jobs.get(id, principal));
    return events.pipe(map((e) => ({ type: e.type, data: this.dto(e.data, req) })));
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel a job (also while it runs: its stage is aborted, child processes killed).' })
  @ApiResponse({ status: 202, type: CancelJobResponseDto })
  @ApiResponse({ status: 404, type: ErrorDto })
  @ApiResponse({ status: 409, type: ErrorDto, description: 'The job already finished.' })
  async cancel(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<CancelJobResponseDto> {
    const record = await this.jobs.cancel(id, principal);
    return { id: record.id, state: record.state };
  }

  /** The one representation of a job, for REST and SSE alike. */
  private dto(record: JobRecord, req: Request): JobDto {
    return toJobDto(record, this.baseUrl(req), this.eventsUrls.sign(record.id));
  }

  private baseUrl(req: Request): string {
    return this.config.publicUrl
      ? publicBaseUrl(this.config)
      : `${req.protocol}://${req.get('host') ?? `${this.config.host}:${this.config.port}`}`;
  }
}
