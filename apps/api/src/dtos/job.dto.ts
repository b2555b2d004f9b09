import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  JOB_STATES,
  PRESETS,
  PRIORITIES,
  STAGES,
  type JobRecord,
  type JobState,
  type StageName,
} from '@streamedit/farm';

export class CreateJobResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'Where to poll the job.', example: 'http://127.0.0.1:3000/v1/jobs/…' }) url!: string;
}

export class JobLinksDto {
  @ApiProperty() self!: string;
  @ApiProperty({
    description:
      'Server-sent events of progress: a signed URL (valid 10 min, this job only) that a browser EventSource can open without a header.',
  })
  events!: string;
  @ApiPropertyOptional({ description: 'The edited video (once done).' }) result?: string;
  @ApiPropertyOptional({ description: 'report.json (once done).' }) report?: string;
  @ApiPropertyOptional({ description: 'Per-pixel uncertainty video (once done).' }) uncertainty?: string;
  @ApiPropertyOptional({ description: 'Contact sheet PNG: original / edited / σ of a few frames (once done).' })
  contactSheet?: string;
}

export class IterationsDto {
  @ApiProperty() done!: number;
  @ApiProperty() total!: number;
}

export class WindowDto {
  @ApiProperty() index!: number;
  @ApiProperty({ description: 'Reference frame of the window.' }) reference!: number;
  @ApiProperty({ description: 'First frame (inclusive).' }) start!: number;
  @ApiProperty({ description: 'Last frame (exclusive).' }) end!: number;
}

export class WindowsDto {
  @ApiProperty({ description: 'Windows known (0 until training is done).' }) total!: number;
  @ApiProperty() done!: number;
  @ApiProperty({ type: [WindowDto] }) items!: WindowDto[];
}

export class InputDto {
  @ApiProperty() bytes!: number;
  @ApiProperty() width!: number;
  @ApiProperty() height!: number;
  @ApiProperty() fps!: number;
  @ApiProperty() frameCount!: number;
  @ApiProperty() durationS!: number;
  @ApiProperty() codec!: string;
}

export class JobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: JOB_STATES }) state!: JobState;
  @ApiProperty({ enum: STAGES, nullable: true, type: String }) stage!: StageName | null;
  @ApiProperty({ description: 'Overall progress in percent.', minimum: 0, maximum: 100 }) progress!: number;
  @ApiProperty({
    description:
      'The edit: kind plus its parameters (look name, prompt, keyframe indices; `upscaleKeyframe: true` when ' +
      'working-size images were accepted).',
  })
  edit!: Record<string, unknown>;
  @ApiProperty({ enum: PRESETS }) preset!: string;
  @ApiProperty({ enum: PRIORITIES }) priority!: string;
  @ApiProperty({ type: InputDto }) input!: InputDto;
  @ApiProperty({ description: 'Frames edited: the first N of the video (null: all).', nullable: true, type: Number })
  frames!: number | null;
  @ApiProperty({ type: IterationsDto, nullable: true }) iterations!: IterationsDto | null;
  @ApiProperty({ type: WindowsDto }) windows!: WindowsDto;
  @ApiProperty({ description: 'Milliseconds per stage.', example: { analyze: 1200, train: 54000 } })
  timings!: Record<string, number>;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt!: string | null;
  @ApiProperty({ type: JobLinksDto }) links!: JobLinksDto;
}

export class JobListDto {
  @ApiProperty({ type: [JobDto] }) items!: JobDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next page; null on the last.' })
  nextCursor!: string | null;
}

export class CancelJobResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: JOB_STATES }) state!: JobState;
}

export class ErrorDto {
  @ApiProperty() statusCode!: number;
  @ApiProperty({ description: 'The HTTP reason phrase of the status, e.g. "Not Found", "Too Many Requests".' })
  error!: string;
  @ApiProperty({ description: 'One sentence: what is wrong and what to do.' }) message!: string;
}

/**
 * The public view of a record, the same in `GET /v1/jobs/{id}`, listings and every server-sent event: no storage
 * keys (they are internal), links instead. `eventsAccess`: the signed `access` value of the events link.
 */
export function toJobDto(record: JobRecord, baseUrl: string, eventsAccess?: string): JobDto {
  const self = `${baseUrl}/v1/jobs/${record.id}`;
  const done = record.state === 'done';
  const { edit } = record;
  const publicEdit: Record<string, unknown> =
    edit.kind === 'keyframes'
      ? { kind: edit.kind, keyframeAt: edit.keyframes.map((k) => k.at) }
      : edit.kind === 'overlay'
        ? { kind: edit.kind, at: edit.at ?? 0 }
        : edit.kind === 'look'
          ? { kind: edit.kind, look: edit.name, at: edit.at ?? 0 }
          : { kind: edit.kind, prompt: edit.text, at: edit.at ?? 0 };
  if (edit.kind !== 'look' && edit.upscaleKeyframe) publicEdit.upscaleKeyframe = true;
  return {
    id: record.id,
    state: record.state,
    stage: record.stage,
    progress: record.progress,
    edit: publicEdit,
    preset: record.preset,
    priority: record.priority,
    input: record.input,
    frames: record.frames,
    iterations: record.iterations,
    windows: { total: record.windows?.length ?? 0, done: record.windowsDone, items: [...(record.windows ?? [])] },
    timings: { ...record.timings } as Record<string, number>,
    error: record.error,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    links: {
      self,
      events: eventsAccess ? `${self}/events?access=${encodeURIComponent(eventsAccess)}` : `${self}/events`,
      ...(done
        ? {
            result: `${self}/result`,
            report: `${self}/result?artifact=report`,
            uncertainty: `${self}/result?artifact=uncertainty`,
            contactSheet: `${self}/result?artifact=contactSheet`,
          }
        : {}),
    },
  };
}
