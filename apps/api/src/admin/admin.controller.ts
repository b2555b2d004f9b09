import { pipeline } from 'node:stream/promises';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { InputError } from '@streamedit/pipeline';
import { JOB_STATES, PRIORITIES } from '@streamedit/farm';
import { z } from 'zod';
import { AdminOnly } from '../auth/auth.decorators';
import { AdminGuard } from './admin.guard';
import { AdminService } from './admin.service';
import type { AdminJobDetail, AdminJobRow, AdminOverview, AdminQueueRow, Thumbnail } from './admin-views';

const overviewQuery = z.object({
  state: z.enum(JOB_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const priorityBody = z.object({ priority: z.enum(PRIORITIES) }).strict();
const fileQuery = z.object({ key: z.string().min(1).max(200) });

/** zod → a 400 naming the field. */
function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError(`Invalid ${what} "${issue.path.join('.') || '(root)'}": ${issue.message}.`);
}

/**
 * The dashboard's JSON API under `/admin/api` (admin credential required: see `admin-auth.ts`). Reads for the
 * dashboard's polling, and the operators' actions (POST, answered 200 with the changed row).
 */
@ApiExcludeController()
@AdminOnly()
@UseGuards(AdminGuard)
@Controller('admin/api')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('overview')
  overview(@Query() query: Record<string, unknown>): Promise<AdminOverview> {
    return this.admin.overview(parse(overviewQuery, query, 'query parameter'));
  }

  @Get('jobs/:id')
  detail(@Param('id') id: string): Promise<AdminJobDetail> {
    return this.admin.detail(id);
  }

  @Get('jobs/:id/thumbnails')
  thumbnails(@Param('id') id: string): Promise<Thumbnail[]> {
    return this.admin.thumbnails(id);
  }

  /** One thumbnail's PNG (`key` relative to the job, as `thumbnails` lists it). */
  @Get('jobs/:id/file')
  async file(@Param('id') id: string, @Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const { key } = parse(fileQuery, query, 'query parameter');
    const body = await this.admin.thumbnail(id, key);
    res.status(200).type('image/png').setHeader('Cache-Control', 'private, max-age=60');
    await pipeline(body, res);
  }

  @Post('jobs/:id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string): Promise<AdminJobRow> {
    return this.admin.cancel(id);
  }

  @Post('jobs/:id/retry')
  @HttpCode(200)
  retry(@Param('id') id: string): Promise<AdminJobRow> {
    return this.admin.retry(id);
  }

  @Post('jobs/:id/priority')
  @HttpCode(200)
  priority(@Param('id') id: string, @Body() body: unknown): Promise<AdminJobRow> {
    return this.admin.setPriority(id, parse(priorityBody, body, 'body field').priority);
  }

  @Post('queues/:name/pause')
  @HttpCode(200)
  pause(@Param('name') name: string): Promise<AdminQueueRow> {
    return this.admin.setPaused(name, true);
  }

  @Post('queues/:name/resume')
  @HttpCode(200)
  resume(@Param('name') name: string): Promise<AdminQueueRow> {
    return this.admin.setPaused(name, false);
  }

  @Post('workers/:id/unblock')
  @HttpCode(200)
  async unblock(@Param('id') id: string): Promise<{ id: string; unblocked: true }> {
    await this.admin.unblock(id);
    return { id, unblocked: true };
  }
}
