import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { InputError } from '@streamedit/pipeline';
import { PRESETS, REPORT_FORMATS, type BenchmarkRecord, type ReportFormat } from '@streamedit/farm';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ErrorDto } from '../dtos/job.dto';
import { BenchmarksService } from '../services/benchmarks.service';

@ApiTags('benchmarks')
@ApiBearerAuth()
@ApiResponse({ status: 400, type: ErrorDto, description: 'Bad request (the message says what to fix).' })
@ApiResponse({ status: 401, type: ErrorDto, description: 'No valid API key.' })
@Controller('v1/benchmarks')
export class BenchmarksController {
  constructor(private readonly benchmarks: BenchmarksService) {}

  @Get('clips')
  @ApiOperation({ summary: 'The clips a benchmark may name (videos in FARM_BENCHMARK_DIR).' })
  async clips(): Promise<{ clips: string[] }> {
    return { clips: await this.benchmarks.clips() };
  }

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Run the reconstruction protocol (bench hdtf) on clips of FARM_BENCHMARK_DIR: one job per clip, then a report.',
  })
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        clips: {
          type: 'array',
          items: { type: 'string' },
          description: 'Default: every clip (GET /v1/benchmarks/clips).',
        },
        frames: { type: 'integer', default: 300, description: 'First N frames of each clip.' },
        preset: { type: 'string', enum: [...PRESETS], default: 'balanced' },
        ablations: { type: 'boolean', default: true, description: 'Also without PPCE and without ARR.' },
      },
    },
  })
  @ApiResponse({ status: 202, description: '{ id, url }' })
  @ApiResponse({ status: 422, type: ErrorDto, description: 'A clip that is not in FARM_BENCHMARK_DIR.' })
  async create(@Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const record = await this.benchmarks.create(body, principal);
    return { id: record.id, url: `${req.protocol}://${req.get('host')}/v1/benchmarks/${record.id}` };
  }

  @Get(':id')
  @ApiOperation({ summary: 'State of a benchmark and of each clip (PSNR / SSIM once done).' })
  @ApiResponse({ status: 404, type: ErrorDto })
  async get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<BenchmarkRecord> {
    return this.benchmarks.get(id, principal);
  }

  @Get(':id/report')
  @ApiOperation({ summary: 'The Table-1-style report: Markdown (default), JSON or CSV.' })
  @ApiQuery({ name: 'format', required: false, enum: REPORT_FORMATS })
  @ApiResponse({ status: 404, type: ErrorDto })
  @ApiResponse({ status: 409, type: ErrorDto, description: 'The benchmark is not done.' })
  async report(
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    const chosen = format ?? 'md';
    if (!(REPORT_FORMATS as readonly string[]).includes(chosen))
      throw new InputError(`Invalid query parameter "format": one of ${REPORT_FORMATS.join(', ')}.`);
    const report = await this.benchmarks.report(id, chosen as ReportFormat, principal);
    res.status(200).type(report.contentType).send(report.body);
  }
}
