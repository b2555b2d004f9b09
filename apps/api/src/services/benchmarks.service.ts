import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { ConflictException, Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { InputError } from '@streamedit/pipeline';
import {
  BenchmarkRepository,
  BenchmarkScheduler,
  benchmarkKeys,
  isJobId,
  PRESETS,
  type ArtifactStore,
  type BenchmarkRecord,
  type FarmConfig,
  type ReportFormat,
} from '@streamedit/farm';
import { z } from 'zod';
import { ARTIFACT_STORE, FARM_CONFIG } from '../api.tokens';
import { canSee, ownerOf, type Principal } from '../auth/principal';

const VIDEO = /\.(mp4|mov|mkv|webm)$/i;

/** `POST /v1/benchmarks` body. */
const createBody = z
  .object({
    clips: z.array(z.string().min(1).max(128)).min(1).max(100).optional(),
    frames: z.number().int().min(2).max(100_000).default(300),
    preset: z.enum(PRESETS).default('balanced'),
    ablations: z.boolean().default(true),
  })
  .strict();
export type CreateBenchmarkRequest = z.input<typeof createBody>;

const CONTENT_TYPES: Readonly<Record<ReportFormat, string>> = {
  md: 'text/markdown',
  json: 'application/json',
  csv: 'text/csv',
};

/** Batch reconstruction benchmarks on the farm: one trainer job per clip of `FARM_BENCHMARK_DIR`, then a report. */
@Injectable()
export class BenchmarksService {
  constructor(
    private readonly repo: BenchmarkRepository,
    private readonly scheduler: BenchmarkScheduler,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {}

  /** The clips a benchmark may name (videos in `FARM_BENCHMARK_DIR`), sorted. */
  async clips(): Promise<string[]> {
    const names = await readdir(this.config.benchmarkDir).catch(() => [] as string[]);
    return names.filter((n) => VIDEO.test(n)).sort();
  }

  async create(body: unknown, principal: Principal): Promise<BenchmarkRecord> {
    const parsed = createBody.safeParse(body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(`Invalid benchmark request: "${issue.path.join('.') || 'body'}" ${issue.message}.`);
    }
    const available = await this.clips();
    const clips = parsed.data.clips ?? available;
    const unknown = clips.filter((c) => !available.includes(c));
    if (unknown.length > 0 || clips.length === 0) {
      throw new UnprocessableEntityException(
        `Unknown clip(s) ${unknown.join(', ') || '(none available)'}: choose from ${available.join(', ') || `nothing — ${this.config.benchmarkDir} holds no videos`}.`,
      );
    }
    const record: BenchmarkRecord = {
      id: randomUUID(),
      state: 'queued',
      frames: parsed.data.frames,
      preset: parsed.data.preset,
      ablations: parsed.data.ablations,
      clips: [...new Set(clips)].map((clip) => ({ clip, state: 'queued' })),
      createdAt: new Date().toISOString(),
      finishedAt: null,
      error: null,
      owner: ownerOf(principal),
    };
    await this.repo.create(record);
    await this.scheduler.enqueue(record);
    return record;
  }

  /** The benchmark, if `principal` may see it (another key's is a 404, as if absent). */
  async get(id: string, principal: Principal): Promise<BenchmarkRecord> {
    const record = isJobId(id) ? await this.repo.get(id) : null;
    if (!record || !canSee(principal, record))
      throw new NotFoundException(`Benchmark ${id.slice(0, 64)} does not exist.`);
    return record;
  }

  async report(id: string, format: ReportFormat, principal: Principal): Promise<{ body: Buffer; contentType: string }> {
    const record = await this.get(id, principal);
    if (record.state !== 'done')
      throw new ConflictException(`Benchmark ${id} is ${record.state}: its report exists once every clip is done.`);
    return { body: await this.store.getBuffer(benchmarkKeys(id).report(format)), contentType: CONTENT_TYPES[format] };
  }
}
