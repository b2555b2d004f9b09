import type { Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { logger } from '@streamedit/pipeline';
import {
  bullJobId,
  JOB_ROUTES,
  FlowScheduler,
  isJobId,
  isTerminal,
  JobLog,
  jobKeys,
  JobNotFoundError,
  JobRepository,
  newJobRecord,
  JOB_STATES,
  priorityOptions,
  QUEUE_NAMES,
  TrainingSamples,
  WorkerRepository,
  type ArtifactStore,
  type JobEdit,
  type JobKeys,
  type JobRecord,
  type JobState,
  type Priority,
  type QueueName,
} from '@streamedit/farm';
import { ARTIFACT_STORE, REDIS } from '../api.tokens';
import { FarmQueues } from '../metrics/farm-queues';
import { OPERATOR } from '../auth/principal';
import { JobsService } from '../services/jobs.service';
import {
  arrWindows,
  classifyThumbnail,
  jobRow,
  pickThumbnails,
  workerRow,
  type AdminJobDetail,
  type AdminJobRow,
  type AdminOverview,
  type AdminQueueRow,
  type Thumbnail,
  type WorkerTask,
} from './admin-views';

/** How operators' actions appear in a job's event log. */
const SOURCE = 'admin';
/** BullMQ counts shown per queue. */
const QUEUE_COUNTS = ['wait', 'prioritized', 'active', 'delayed', 'waiting-children', 'failed', 'completed'] as const;
const WORKING_STATES = JOB_STATES.filter((s) => !isTerminal(s));
/** Failed BullMQ jobs per queue checked for a cancelled farm job (the overview's `cancelled` count). */
const FAILED_SCAN = 500;

/**
 * What the operators' dashboard reads and does: an overview (queues, workers with what they run, recent jobs with
 * ETAs), a job's details (training curve, event log, ARR windows, thumbnails), and the actions: cancel, retry,
 * priority, pause / resume a queue, unblock a worker. Every action is written to the job's event log.
 */
@Injectable()
export class AdminService {
  private readonly log = logger('api');
  private readonly jobLog: JobLog;
  private readonly samples: TrainingSamples;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    private readonly repo: JobRepository,
    private readonly workers: WorkerRepository,
    private readonly flows: FlowScheduler,
    private readonly queues: FarmQueues,
    private readonly jobs: JobsService,
  ) {
    this.jobLog = new JobLog(redis);
    this.samples = new TrainingSamples(redis);
  }

  async overview(options: { state?: JobState; limit: number }): Promise<AdminOverview> {
    const now = Date.now();
    const [queues, tasks, statuses, page] = await Promise.all([
      this.queueRows(),
      this.tasksByWorker(),
      this.workers.list(),
      this.repo.list({ state: options.state, limit: options.limit }),
    ]);
    return {
      now: new Date(now).toISOString(),
      queues,
      workers: statuses.map((w) => workerRow(w, tasks.get(w.id) ?? [], now)),
      jobs: page.items.map((r) => jobRow(r, now)),
    };
  }

  async detail(id: string): Promise<AdminJobDetail> {
    const record = await this.record(id);
    const [samples, log, arr] = await Promise.all([
      this.samples.list(id),
      this.jobLog.recent(id, 100),
      record.windows ? this.readArr(jobKeys(id)) : Promise.resolve(null),
    ]);
    return {
      job: {
        ...jobRow(record, Date.now()),
        input: record.input,
        renderWindows: record.windows ?? [],
        timings: record.timings,
        updatedAt: record.updatedAt,
      },
      samples,
      log,
      arr,
      resultUrl: record.state === 'done' ? `/v1/jobs/${id}/result` : null,
    };
  }

  /** The images of the job's artifacts that exist now (see `pickThumbnails`). */
  async thumbnails(id: string): Promise<Thumbnail[]> {
    const keys = jobKeys((await this.record(id)).id);
    const listed = await Promise.all(
      [keys.folder('frames'), keys.folder('edit'), `${keys.prefix}windows/`].map((p) => this.store.list(p)),
    );
    const relative = listed.flat().map((o) => o.key.slice(keys.prefix.length));
    if (await this.store.exists(keys.contactSheet)) relative.push(keys.contactSheet.slice(keys.prefix.length));
    return pickThumbnails(relative);
  }

  /** A thumbnail's bytes; only keys `classifyThumbnail` accepts are served (404 otherwise). */
  async thumbnail(id: string, key: string): Promise<Readable> {
    if (!classifyThumbnail(key)) throw new NotFoundException('Not a job image the dashboard shows.');
    const { prefix } = jobKeys((await this.record(id)).id);
    try {
      return await this.store.getStream(`${prefix}${key}`);
    } catch {
      throw new NotFoundException(`The job has no ${key.slice(0, 80)}.`);
    }
  }

  async cancel(id: string): Promise<AdminJobRow> {
    const record = await this.jobs.cancel(id, OPERATOR);
    await this.jobLog.append(id, { level: 'warn', msg: 'cancelled by an operator', source: SOURCE });
    return jobRow(record, Date.now());
  }

  /**
   * Runs a failed or cancelled job again, as a NEW job (terminal states stay terminal: the old record keeps its
   * history) with the same upload, edit, preset, priority and device: the input and edit images are copied to the
   * new job's prefix. Returns the new job's row.
   */
  async retry(id: string): Promise<AdminJobRow> {
    const old = await this.record(id);
    if (old.state !== 'failed' && old.state !== 'cancelled')
      throw new ConflictException(`Job ${id} is ${old.state}: only failed or cancelled jobs can be retried.`);
    const newId = randomUUID();
    const from = jobKeys(id);
    const to = jobKeys(newId);
    let created = false;
    try {
      await this.copy(from.input, to.input);
      const edit = await this.copyEdit(old.edit, to);
      const checkpoints = await this.copyCheckpoints(from, to);
      // `create` sets state, seq and both timestamps afresh; every other field (new ones too) is carried over.
      const record = await this.repo.create(newJobRecord({ ...old, id: newId, edit }));
      created = true;
      await this.flows.enqueue(record);
      await this.jobLog.append(id, { level: 'info', msg: `retried by an operator as job ${newId}`, source: SOURCE });
      await this.jobLog.append(newId, {
        level: 'info',
        msg: `retry of job ${id}${checkpoints > 0 ? `, training resumes from its ${checkpoints} stored checkpoint file(s)` : ''}`,
        source: SOURCE,
      });
      this.log.info({ job: newId, retryOf: id }, 'job retried');
      return jobRow(record, Date.now());
    } catch (err) {
      if (created) await this.repo.delete(newId).catch(() => {});
      await this.store.deletePrefix(to.prefix).catch(() => {});
      throw err;
    }
  }

  /**
   * Changes a job's priority: the record (so render windows queued later get it too) and every BullMQ job of its
   * flow that still waits (moved within its queue as `priorityOptions` says).
   */
  async setPriority(id: string, priority: Priority): Promise<AdminJobRow> {
    const before = await this.record(id);
    const record = await this.repo.update(id, WORKING_STATES, { priority });
    if (!record) throw new ConflictException(`Job ${id} is ${before.state}: its priority no longer matters.`);
    const { priority: level = 0, lifo = false } = priorityOptions(priority);
    for (const [queue, bullId] of flowJobs(record)) {
      const job = await this.queues.get(queue).getJob(bullId);
      // A job that started or finished meanwhile keeps its place: nothing to move.
      await job?.changePriority({ priority: level, lifo }).catch(() => {});
    }
    await this.jobLog.append(id, { level: 'info', msg: `priority set to ${priority} by an operator`, source: SOURCE });
    return jobRow(record, Date.now());
  }

  /** Pauses (workers finish what they run, take nothing new) or resumes a queue. */
  async setPaused(name: string, paused: boolean): Promise<AdminQueueRow> {
    if (!(QUEUE_NAMES as readonly string[]).includes(name))
      throw new NotFoundException(
        `Queue ${name.slice(0, 64)} does not exist: the queues are ${QUEUE_NAMES.join(', ')}.`,
      );
    const queue = this.queues.get(name as QueueName);
    if (paused) await queue.pause();
    else await queue.resume();
    this.log.info({ queue: name, paused }, 'queue paused/resumed by an operator');
    return (await this.queueRows()).find((q) => q.name === name)!;
  }

  async unblock(workerId: string): Promise<void> {
    if (!(await this.workers.unblock(workerId)))
      throw new NotFoundException(`Worker ${workerId.slice(0, 128)} is not known: see the workers table.`);
    this.log.info({ worker: workerId }, 'worker unblocked by an operator');
  }

  private async record(id: string): Promise<JobRecord> {
    if (!isJobId(id)) throw new JobNotFoundError(id.slice(0, 64));
    return this.repo.require(id);
  }

  private async queueRows(): Promise<AdminQueueRow[]> {
    const states = new Map<string, Promise<string | null>>();
    return Promise.all(
      [...this.queues.all].map(async ([name, q]) => {
        const [counts, paused, failedJobs] = await Promise.all([
          q.getJobCounts(...QUEUE_COUNTS),
          q.isPaused(),
          q.getFailed(0, FAILED_SCAN - 1),
        ]);
        const failed = failedJobs.filter((job): job is Job => Boolean(job));
        const cancelled = await this.cancelledAmong(failed, states);
        // The counts and the failed list are two reads: a stage that fails between them (a cancel's parents fail
        // one after the other) would make `counts.failed - cancelled` off by one, even negative. While the list
        // holds every failed job it is the one snapshot both figures come from.
        const allFailed = failed.length < FAILED_SCAN ? failed.length : Math.max(counts.failed ?? 0, failed.length);
        return { name, paused, counts: { ...counts, failed: allFailed - cancelled, cancelled } };
      }),
    );
  }

  /**
   * How many of the queue's failed BullMQ jobs belong to a cancelled farm job: a cancel ends its running stage (and
   * with it the flow's parents) as a BullMQ failure, which is no failure of the farm's. Looked up by the farm
   * job's state (`states` caches it across queues); the newest {@link FAILED_SCAN} are looked at.
   */
  private async cancelledAmong(failed: Job[], states: Map<string, Promise<string | null>>): Promise<number> {
    let n = 0;
    for (const job of failed) {
      const id = job.data?.jobId;
      if (typeof id !== 'string') continue;
      if (!states.has(id))
        states.set(
          id,
          this.repo.get(id).then((r) => r?.state ?? null),
        );
      if ((await states.get(id)) === 'cancelled') n++;
    }
    return n;
  }

  /** Running stage jobs by the worker that took them (BullMQ's `processedBy` is the worker id). */
  private async tasksByWorker(): Promise<Map<string, WorkerTask[]>> {
    const out = new Map<string, WorkerTask[]>();
    for (const q of this.queues.all.values()) {
      for (const job of await q.getActive(0, 199)) {
        if (!job?.processedBy || !job.data?.jobId) continue;
        const task: WorkerTask = {
          jobId: String(job.data.jobId),
          stage: job.name,
          ...(typeof job.data.window === 'number' ? { window: job.data.window } : {}),
        };
        out.set(job.processedBy, [...(out.get(job.processedBy) ?? []), task]);
      }
    }
    return out;
  }

  private async readArr(keys: JobKeys): Promise<AdminJobDetail['arr']> {
    try {
      return arrWindows(JSON.parse((await this.store.getBuffer(keys.training)).toString('utf8')));
    } catch {
      return null; // not stored (yet, or by these stages)
    }
  }

  private async copy(from: string, to: string): Promise<void> {
    await this.store.putStream(to, await this.store.getStream(from));
  }

  /**
   * The old job's stored checkpoints, copied so the retry's training resumes where the old one stopped (a job
   * failed by a storage outage loses no training). Best effort: a file that cannot be read (damaged: its checksum
   * fails) is left out, and the train stage then resumes from an older complete check or from the start.
   */
  private async copyCheckpoints(from: JobKeys, to: JobKeys): Promise<number> {
    let copied = 0;
    for (const { key } of await this.store.list(from.checkpoints)) {
      try {
        await this.copy(key, `${to.prefix}${key.slice(from.prefix.length)}`);
        copied++;
      } catch (err) {
        this.log.warn({ key, err }, 'checkpoint not copied to the retried job');
      }
    }
    return copied;
  }

  /** The edit with its images copied to the new job (keys are per job). */
  private async copyEdit(edit: JobEdit, to: JobKeys): Promise<JobEdit> {
    if (edit.kind === 'overlay') {
      await this.copy(edit.key, to.overlay);
      return { ...edit, key: to.overlay };
    }
    if (edit.kind === 'keyframes') {
      const keyframes = [];
      for (const [k, frame] of edit.keyframes.entries()) {
        await this.copy(frame.key, to.keyframe(k));
        keyframes.push({ at: frame.at, key: to.keyframe(k) });
      }
      return { ...edit, keyframes };
    }
    return edit;
  }
}

/** Every BullMQ job a farm job's flow may have: queue and id. */
function flowJobs(record: JobRecord): Array<[QueueName, string]> {
  return [
    [JOB_ROUTES.analyze.route(record), bullJobId.analyze(record.id)],
    [JOB_ROUTES.train.route(record), bullJobId.train(record.id)],
    ...(record.windows ?? []).map((w): [QueueName, string] => [
      JOB_ROUTES.render.route(record),
      bullJobId.render(record.id, w.index),
    ]),
    [JOB_ROUTES.mux.route(record), bullJobId.mux(record.id)],
  ];
}
