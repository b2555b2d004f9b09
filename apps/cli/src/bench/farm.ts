/**
 * `streamedit bench farm`: what the farm itself costs a job, on the real farm (redis-server, s3rver, the API, trainer
 * and renderer processes, the real pipeline stages; preset `fast`).
 *
 * 1. Overhead: one look job (preset `balanced` unless `--job-preset`). Its wall time (record created → finished) is
 *    split into stage spans ("stage started" → "stage done" in the job log), storage calls inside them (timed by
 *    `FARM_STORE_TIMINGS`) and the hand-offs: the time no stage runs (queue waits plus the handlers' Redis
 *    bookkeeping). overhead = hand-offs + storage (an upper bound where spans overlap: storage of parallel stages
 *    is counted in full).
 * 2. Renderers: one job with 4 edited keyframes (4 render windows), run with 1 renderer and then with 2.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeFrames,
  InputError,
  logger,
  writePng,
  type ProgressListener,
  f1,
  f2,
  formatTable,
} from '@streamedit/pipeline';
import {
  JobLog,
  JobRepository,
  type JobLogEvent,
  type JobRecord,
  type Preset,
  type StoreOperation,
} from '@streamedit/farm';
import { startBenchFarm, removeBenchDir, type BenchFarm, type BenchWorker } from './farm-cluster';
import { selectClips, videoFiles } from './select-clips';

export interface FarmBenchOptions {
  /** Folder of clips; the first that `clips[0]` selects (default `may_theresa`; `selectClips`) is used. */
  readonly dir: string;
  /** Frames each job edits (the first N of the clip). */
  readonly frames: number;
  readonly clips?: string[];
  /** Preset of the overhead job [`balanced`, the API's default]; the 4-window jobs always run `fast`. */
  readonly jobPreset?: Preset;
}

/** One stage attempt as the job log shows it. */
export interface StageSpan {
  readonly stage: string;
  readonly window?: number;
  readonly worker: string;
  /** ms after the job's record was created. */
  readonly start: number;
  readonly end: number;
  /** Store time inside the span (ms; calls of that worker for this job). */
  readonly storageMs: number;
}

/** Where one job's wall time went. */
export interface JobBreakdown {
  readonly id: string;
  readonly preset: string;
  /** Record created → finished (ms). */
  readonly wallMs: number;
  /** POST sent → `done` seen by polling every 100 ms (ms; includes the upload). */
  readonly clientMs: number;
  readonly spans: StageSpan[];
  /** Σ stage spans (ms). */
  readonly stageMs: number;
  /** Store calls of the workers inside the spans: count, bytes, ms. */
  readonly storage: { count: number; bytes: number; ms: number };
  /** The upload as the API stored it (ms; before the record exists, so outside `wallMs`). */
  readonly uploadMs: number;
  /** Time outside every stage span (wall − their union): queue waits and the handlers' Redis bookkeeping (ms). */
  readonly handoffMs: number;
  /** handoff + storage: queue + storage + bookkeeping (ms). */
  readonly overheadMs: number;
  /** overheadMs / wallMs. */
  readonly overheadShare: number;
  /** First render start → last render end (ms). */
  readonly renderSpanMs: number;
  /** Whether any two render windows ran at the same time. */
  readonly renderOverlap: boolean;
}

export interface FarmBenchResult {
  readonly clip: string;
  readonly frames: number;
  readonly keyframes: number[];
  readonly overhead: JobBreakdown;
  readonly renderers: Array<{ renderers: number; job: JobBreakdown }>;
  readonly table: string;
}

/** A `balanced` job trains 2000 iterations: minutes on 2 cores. */
const JOB_TIMEOUT_MS = 1_800_000;
/** The patch painted on each edited keyframe (over the mouth of the 512² clips). */
const PATCH = { x: 200, y: 330, width: 112, height: 40 };

export async function benchFarm(o: FarmBenchOptions, onProgress: ProgressListener): Promise<FarmBenchResult> {
  const clip = await findClip(o.dir, o.clips?.[0] ?? 'may_theresa');
  const tmp = await mkdtemp(join(tmpdir(), 'streamedit-bench-farm-'));
  let farm: BenchFarm | undefined;
  try {
    farm = await startBenchFarm(tmp);
    const workers = [farm.startWorker('trainer', 'bench-trainer-1'), farm.startWorker('renderer', 'bench-renderer-1')];
    const step = (done: number) => onProgress({ stage: 'farm jobs', done, total: 3 });
    step(0);
    const look = { look: 'cartoon', preset: o.jobPreset ?? 'balanced', frames: String(o.frames) };
    const overhead = await runJob(farm, workers, () => jobForm(clip, look, []));
    step(1);
    const keyframes = [0, 1, 2, 3].map((q) => Math.floor((q * o.frames) / 4));
    const images = await Promise.all(keyframes.map((at) => paintKeyframe(clip, at, tmp)));
    const fields = { keyframeAt: keyframes.join(','), preset: 'fast', frames: String(o.frames) };
    const one = await runJob(farm, workers, () => jobForm(clip, fields, images));
    step(2);
    workers.push(farm.startWorker('renderer', 'bench-renderer-2'));
    const two = await runJob(farm, workers, () => jobForm(clip, fields, images));
    step(3);
    const renderers = [
      { renderers: 1, job: one },
      { renderers: 2, job: two },
    ];
    return {
      clip: basename(clip),
      frames: o.frames,
      keyframes,
      overhead,
      renderers,
      table: formatResult(overhead, renderers),
    };
  } finally {
    await farm?.stop();
    await removeBenchDir(tmp);
  }
}

/** The first clip of `dir` that `name` selects (`selectClips`: a whole name, or a part of one). */
async function findClip(dir: string, name: string): Promise<string> {
  const hit = selectClips(await videoFiles(dir), [name])[0]!;
  return join(dir, hit);
}

/** Frame `at` of the clip with a magenta patch over the mouth: an edited keyframe as a user makes one. */
async function paintKeyframe(clip: string, at: number, dir: string): Promise<{ at: number; path: string }> {
  for await (const frame of decodeFrames(clip, { start: at, count: 1 })) {
    for (let y = PATCH.y; y < Math.min(PATCH.y + PATCH.height, frame.height); y++) {
      for (let x = PATCH.x; x < Math.min(PATCH.x + PATCH.width, frame.width); x++)
        frame.data.set([230, 20, 200], 3 * (y * frame.width + x));
    }
    const path = join(dir, `keyframe-${at}.png`);
    await writePng(path, frame);
    return { at, path };
  }
  throw new InputError(`The clip ${clip} has no frame ${at}; use fewer --frames.`);
}

async function jobForm(
  clip: string,
  fields: Record<string, string>,
  keyframes: Array<{ at: number; path: string }>,
): Promise<FormData> {
  const form = new FormData();
  form.append('video', new Blob([await readFile(clip)]), basename(clip));
  for (const k of keyframes) form.append('keyframe', new Blob([await readFile(k.path)]), `k${k.at}.png`);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

/** Submits a job, waits until it is done and breaks its wall time down. */
async function runJob(farm: BenchFarm, workers: BenchWorker[], form: () => Promise<FormData>): Promise<JobBreakdown> {
  const body = await form();
  const sent = Date.now();
  const res = await fetch(`${farm.apiUrl}/v1/jobs`, { method: 'POST', body });
  const posted = (await res.json()) as { id?: string };
  if (res.status !== 202 || !posted.id) throw new Error(`POST /v1/jobs: ${res.status} ${JSON.stringify(posted)}`);
  const id = posted.id;
  const record = await untilDone(farm, id, workers);
  const clientMs = Date.now() - sent;
  await sleep(200); // the job log's last lines are written fire-and-forget
  const events = await new JobLog(farm.redis).recent(id, 200);
  const ops = (await farm.storeOperations()).filter((op) => op.key.startsWith(`jobs/${id}/`));
  logger('bench-farm').info({ id, timings: record.timings }, 'job done');
  return breakdown(record, events, ops, clientMs);
}

async function untilDone(farm: BenchFarm, id: string, workers: BenchWorker[]): Promise<JobRecord> {
  const repo = new JobRepository(farm.redis);
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    const record = await repo.get(id);
    if (record?.state === 'done') return record;
    if (!record || ['failed', 'cancelled'].includes(record.state) || Date.now() > deadline) {
      const tails = workers.map((w) => `--- ${w.id} ---\n${w.tail()}`).join('\n');
      throw new Error(`Job ${id} ended ${record?.state ?? 'missing'}: ${record?.error ?? 'timeout'}\n${tails}`);
    }
    await sleep(100);
  }
}

/** See {@link JobBreakdown}. Exported for its test. */
export function breakdown(
  record: JobRecord,
  events: readonly JobLogEvent[],
  ops: ReadonlyArray<StoreOperation & { source: string }>,
  clientMs: number,
): JobBreakdown {
  const t0 = Date.parse(record.createdAt);
  const wallMs = Date.parse(record.finishedAt ?? record.updatedAt) - t0;
  const spans = stageSpans(events, t0).map((s) => ({ ...s, storageMs: storageIn(s, ops, t0) }));
  const stageMs = sum(spans.map((s) => s.end - s.start));
  const inSpans = ops.filter((op) => spans.some((s) => within(s, op, t0)));
  const storage = { count: inSpans.length, bytes: sum(inSpans.map((o) => o.bytes)), ms: sum(inSpans.map((o) => o.ms)) };
  const renders = spans.filter((s) => s.stage === 'render').sort((a, b) => a.start - b.start);
  const handoffMs = wallMs - unionMs(spans);
  const overheadMs = handoffMs + storage.ms;
  return {
    id: record.id,
    preset: record.preset,
    wallMs,
    clientMs,
    spans,
    stageMs,
    storage,
    uploadMs: sum(ops.filter((op) => op.source === 'api' && op.op.startsWith('put')).map((op) => op.ms)),
    handoffMs,
    overheadMs,
    overheadShare: overheadMs / wallMs,
    renderSpanMs: renders.length ? Math.max(...renders.map((r) => r.end)) - renders[0]!.start : 0,
    renderOverlap: renders.some((r, i) => i > 0 && r.start < renders[i - 1]!.end),
  };
}

/** Each stage attempt that finished: "stage started" → "stage done" of the same stage, window, attempt. */
function stageSpans(events: readonly JobLogEvent[], t0: number): Array<Omit<StageSpan, 'storageMs'>> {
  const open = new Map<string, number>();
  const out: Array<Omit<StageSpan, 'storageMs'>> = [];
  for (const e of events) {
    const key = `${e.stage}/${e.window ?? ''}/${e.attempt ?? ''}/${e.source ?? ''}`;
    if (e.msg === 'stage started') open.set(key, Date.parse(e.at) - t0);
    if (e.msg === 'stage done' && open.has(key)) {
      const span = {
        stage: String(e.stage),
        worker: String(e.source),
        start: open.get(key)!,
        end: Date.parse(e.at) - t0,
      };
      out.push(e.window === undefined ? span : { ...span, window: e.window });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** An operation of the span's worker that started inside the span. */
function within(span: Omit<StageSpan, 'storageMs'>, op: StoreOperation & { source: string }, t0: number): boolean {
  const at = op.at - t0;
  return op.source === span.worker && at >= span.start && at <= span.end;
}

function storageIn(
  span: Omit<StageSpan, 'storageMs'>,
  ops: ReadonlyArray<StoreOperation & { source: string }>,
  t0: number,
): number {
  return sum(ops.filter((op) => within(span, op, t0)).map((op) => op.ms));
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Length of the union of the spans (parallel render windows count once). */
function unionMs(spans: ReadonlyArray<{ start: number; end: number }>): number {
  let total = 0;
  let reach = Number.NEGATIVE_INFINITY;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    total += Math.max(0, s.end - Math.max(s.start, reach));
    reach = Math.max(reach, s.end);
  }
  return total;
}
const s1 = (ms: number): string => f1(ms / 1000);
const mb = (bytes: number): string => f2(bytes / 1e6);

function formatResult(overhead: JobBreakdown, renderers: FarmBenchResult['renderers']): string {
  const a = overhead;
  const first = formatTable(
    [
      'job',
      'wall s',
      'client s',
      'stages s',
      'queue+handoff ms',
      'storage ms',
      'storage ops',
      'storage MB',
      'overhead ms',
      'share %',
    ],
    [
      [
        `look, ${a.preset} (overhead)`,
        s1(a.wallMs),
        s1(a.clientMs),
        s1(a.stageMs),
        String(Math.round(a.handoffMs)),
        String(Math.round(a.storage.ms)),
        String(a.storage.count),
        mb(a.storage.bytes),
        String(Math.round(a.overheadMs)),
        f2(100 * a.overheadShare),
      ],
    ],
  );
  const stages = formatTable(
    ['stage', 'window', 'worker', 'start s', 'span s', 'storage ms'],
    a.spans.map((s) => [
      s.stage,
      s.window === undefined ? '' : String(s.window),
      s.worker,
      s1(s.start),
      s1(s.end - s.start),
      String(Math.round(s.storageMs)),
    ]),
  );
  const second = formatTable(
    ['renderers', 'wall s', 'render span s', 'windows (worker: start–end s)', 'overlap', 'overhead %'],
    renderers.map(({ renderers: n, job }) => [
      String(n),
      s1(job.wallMs),
      s1(job.renderSpanMs),
      job.spans
        .filter((s) => s.stage === 'render')
        .map((s) => `${s.window}@${s.worker.replace('bench-', '')}: ${s1(s.start)}–${s1(s.end)}`)
        .join(', '),
      job.renderOverlap ? 'yes' : 'no',
      f2(100 * job.overheadShare),
    ]),
  );
  return `${first}\n\nstages of the look job:\n${stages}\n\n4-window job:\n${second}`;
}
