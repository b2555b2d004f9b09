import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Redis } from 'ioredis';
import {
  editImageFit,
  InputError,
  InvalidVideoError,
  isInputError,
  logger,
  promptEditsAvailable,
  validateEditSpec,
  videoGeometry,
  type VideoGeometry,
} from '@streamedit/pipeline';
import { probeVideo, type VideoInfo } from '@streamedit/pipeline/media/video-info';
import {
  ActiveJobQuota,
  ArtifactNotFoundError,
  FlowScheduler,
  IllegalTransitionError,
  isJobId,
  jobKeys,
  JobNotFoundError,
  JobRepository,
  newJobRecord,
  editImageOptions,
  type JobEdit,
  toEditSpec,
  type ArtifactStore,
  type FarmConfig,
  type JobPage,
  type JobRecord,
  type JobState,
} from '@streamedit/farm';
import { ARTIFACT_STORE, FARM_CONFIG, REDIS } from '../api.tokens';
import { canSee, listOwner, ownerOf, type Principal } from '../auth/principal';
import { ServiceUnavailableError, TooManyRequestsError } from '../security/http-errors';
import { parseJobRequest } from './job-request';
import { checkIsVideo, checkMediaLimits } from './media-limits';
import { UnprocessableUploadError } from './upload-errors';
import { UploadService, type ReceivedUpload } from './upload.service';

/** The artifacts a client may download once a job is done. */
export const RESULT_ARTIFACTS = {
  video: { key: 'output', type: 'video/mp4', name: 'output.mp4' },
  uncertainty: { key: 'uncertainty', type: 'video/mp4', name: 'uncertainty.mp4' },
  report: { key: 'report', type: 'application/json', name: 'report.json' },
  contactSheet: { key: 'contactSheet', type: 'image/png', name: 'contact-sheet.png' },
} as const;
export type ResultArtifact = keyof typeof RESULT_ARTIFACTS;

/** A result: a presigned URL to redirect to (S3), or a stream to send (local store). */
export type ResultDelivery =
  | { readonly kind: 'redirect'; readonly url: string }
  | { readonly kind: 'stream'; readonly body: Readable; readonly contentType: string; readonly name: string };

/**
 * The jobs API's logic: accept an upload (validated completely before anything is queued), read, list, cancel,
 * and hand out results. Storage and Redis are reached through the repositories only.
 */
@Injectable()
export class JobsService {
  private readonly log = logger('api');

  constructor(
    private readonly jobs: JobRepository,
    private readonly flows: FlowScheduler,
    private readonly uploads: UploadService,
    private readonly quota: ActiveJobQuota,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /**
   * Accepts `POST /v1/jobs` for `principal`: takes a slot of its concurrent-job quota (429 when none is free),
   * streams the files to the store, probes the video and checks it against the media limits (422), validates the
   * edit, then stores the record (owned by the principal's key) and queues the flow. Any failure removes what was
   * stored, frees the slot and queues nothing. With an `Idempotency-Key` (scoped to the key) a repeated request
   * returns the first request's job id (and its body is discarded).
   */
  async create(
    req: Request,
    idempotencyKey: string | undefined,
    principal: Principal,
  ): Promise<{ id: string; replayed: boolean }> {
    const id = randomUUID();
    const owner = ownerOf(principal);
    // Keys of different owners never collide: another key's Idempotency-Key must not reveal its job.
    const idemKey = idempotencyKey === undefined ? undefined : owner ? `${owner}:${idempotencyKey}` : idempotencyKey;
    if (idempotencyKey !== undefined && idemKey !== undefined) {
      if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey))
        throw new InputError('The Idempotency-Key header must be 1–255 printable ASCII characters.');
      const first = await this.jobs.claimIdempotencyKey(idemKey, id);
      if (first !== id) return this.replay(req, idemKey, first);
    }
    try {
      await this.reserve(principal, id);
    } catch (err) {
      req.resume();
      if (idemKey !== undefined) await this.jobs.releaseIdempotencyKey(idemKey, id).catch(() => {});
      throw err;
    }
    const tmp = await mkdtemp(join(tmpdir(), 'streamedit-upload-'));
    try {
      const upload = await this.uploads.receive(req, id, tmp);
      const request = parseJobRequest(upload);
      const info = await this.probe(upload.videoPath);
      checkIsVideo(info, request.frames);
      const frames = request.frames ?? null;
      checkMediaLimits(info, frames ?? info.frameCount, this.config);
      // Redis may have gone away during a long upload: answer 503 now rather than wait for it in the offline queue.
      if (this.redis.status !== 'ready')
        throw new ServiceUnavailableError(
          "The farm's job database (Redis) is not reachable right now: send the video again shortly.",
        );
      const geometry = videoGeometry(info, frames ?? undefined);
      validateEditSpec(toEditSpec(request.edit), geometry);
      checkEditCanRun(request.edit, upload, geometry);
      await this.uploads.storeImages(upload);
      if (idemKey !== undefined) await this.jobs.setIdempotencyFingerprint(idemKey, upload.fingerprint);
      const record = await this.jobs.create(
        newJobRecord({
          id,
          edit: request.edit,
          preset: request.preset,
          priority: request.priority,
          device: this.config.trainDevice,
          input: {
            bytes: upload.videoBytes ?? 0,
            width: info.width,
            height: info.height,
            fps: info.fpsValue,
            frameCount: info.frameCount,
            durationS: info.duration,
            codec: info.codec,
          },
          frames,
          owner,
        }),
      );
      await this.enqueue(record);
      this.log.info({ job: id, frames: info.frameCount, edit: request.edit.kind }, 'job accepted');
      return { id, replayed: false };
    } catch (err) {
      await this.store
        .deletePrefix(jobKeys(id).prefix)
        .catch((e: unknown) => this.log.error({ err: e, job: id }, 'cleanup failed'));
      if (idemKey !== undefined) await this.jobs.releaseIdempotencyKey(idemKey, id).catch(() => {});
      if (owner) await this.quota.release(owner, id).catch(() => {});
      throw err;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The job, if `principal` may see it; another key's job is a 404 exactly like a job that does not exist. */
  async get(id: string, principal: Principal): Promise<JobRecord> {
    const record = await this.jobs.require(checkId(id));
    if (!canSee(principal, record)) throw new JobNotFoundError(id);
    return record;
  }

  /** The jobs `principal` may see (a user key: its own), newest first. */
  async list(
    state: JobState | undefined,
    limit: number,
    cursor: string | undefined,
    principal: Principal,
  ): Promise<JobPage> {
    return this.jobs.list({ state, limit, cursor, owner: listOwner(principal) });
  }

  /**
   * Cancels a job: the record goes to `cancelled` (atomically: a job that just finished stays finished, 409),
   * workers abort its running stage (child processes are killed), and its queued BullMQ jobs are removed.
   */
  async cancel(id: string, principal: Principal): Promise<JobRecord> {
    await this.get(id, principal);
    let record: JobRecord;
    try {
      record = await this.jobs.transition(id, 'cancelled', { finishedAt: new Date().toISOString() });
    } catch (err) {
      // Cancelling twice is fine; cancelling a finished job is a conflict (409).
      if (err instanceof IllegalTransitionError && err.from === 'cancelled') return this.jobs.require(id);
      throw err;
    }
    await this.jobs.announceCancel(id);
    await this.flows.discard(record);
    this.log.info({ job: id }, 'job cancelled');
    return record;
  }

  /** The result of a done job (409 otherwise): a presigned URL on S3, a stream on the local store. */
  async result(id: string, artifact: ResultArtifact, principal: Principal): Promise<ResultDelivery> {
    const record = await this.get(id, principal);
    if (record.state !== 'done') throw new JobNotDoneError(record);
    const spec = RESULT_ARTIFACTS[artifact];
    const key = jobKeys(id)[spec.key];
    if (!(await this.store.exists(key))) throw new ArtifactNotFoundError(key);
    if (this.store.kind === 's3') {
      return {
        kind: 'redirect',
        url: await this.store.presignedGetUrl(key, this.config.presignTtlS, `${id}-${spec.name}`),
      };
    }
    return {
      kind: 'stream',
      body: await this.store.getStream(key),
      contentType: spec.type,
      name: `${id}-${spec.name}`,
    };
  }

  /**
   * A request whose `Idempotency-Key` was used before: the first job when the body is the same (read and hashed,
   * not stored), 422 when it differs, 409 while the first request is still uploading.
   */
  private async replay(req: Request, idemKey: string, first: string): Promise<{ id: string; replayed: boolean }> {
    const fingerprint = await this.uploads.fingerprint(req);
    const stored = await this.jobs.idempotencyFingerprint(idemKey);
    if (stored === null && !(await this.jobs.get(first)))
      throw new IdempotencyInProgressError(
        'A request with this Idempotency-Key is still being processed: wait for its answer, then send again if needed.',
      );
    if (stored !== null && stored !== fingerprint)
      throw new IdempotencyConflictError(
        'This Idempotency-Key was already used with a different request body: use a new key for a new job.',
      );
    return { id: first, replayed: true };
  }

  /** A slot of the key's concurrent-job quota (the admin token and auth-off requests have none to take). */
  private async reserve(principal: Principal, id: string): Promise<void> {
    if (principal.kind !== 'api-key') return;
    const max = principal.key?.maxActiveJobs ?? this.config.maxActiveJobs;
    const decision = await this.quota.reserve(principal.id, id, max);
    if (decision.granted) return;
    throw new TooManyRequestsError(
      `This API key already has ${decision.active} unfinished job(s), its limit: wait until one is done (or cancel one), then send again.`,
      30,
    );
  }

  private async probe(path: string): Promise<VideoInfo> {
    try {
      return await probeVideo(path);
    } catch (err) {
      // The message names our temp file; the client knows it as "the uploaded video".
      if (err instanceof InvalidVideoError)
        throw new InvalidVideoError(err.message.split(path).join('The uploaded video'));
      throw err;
    }
  }

  private async enqueue(record: JobRecord): Promise<void> {
    try {
      await this.flows.enqueue(record);
    } catch (err) {
      await this.jobs.delete(record.id);
      throw err;
    }
  }
}

/** A result was asked for before the job was done, or of a job that will never be (409). */
export class JobNotDoneError extends IllegalTransitionError {
  constructor(readonly record: JobRecord) {
    super(record.state, 'done');
    this.message =
      record.state === 'cancelled'
        ? `Job ${record.id} was cancelled: it has no result. Send the video again to edit it.`
        : record.state === 'failed'
          ? `Job ${record.id} failed (see its "error"): it has no result.`
          : `Job ${record.id} is ${record.state}: its result exists once it is done.`;
  }
}

/** The same `Idempotency-Key` came with another body (422, as the IETF Idempotency-Key draft says). */
export class IdempotencyConflictError extends UnprocessableUploadError {}

/** The first request with this `Idempotency-Key` has not been answered yet (409). */
export class IdempotencyInProgressError extends ConflictException {}

/**
 * What can be known at upload about whether the edit can run, refused before any job exists (422): every edit image
 * is a PNG of an accepted size (the pipeline's own check, `editImageFit`), and a prompt edit has an image
 * editor to go to.
 */
function checkEditCanRun(edit: JobEdit, upload: ReceivedUpload, geometry: VideoGeometry): void {
  if (edit.kind === 'prompt' && !promptEditsAvailable())
    throw new UnprocessableUploadError(
      'This farm has no image editor for prompt edits: send an edited keyframe, an overlay or a look instead.',
    );
  for (const image of upload.images.values()) {
    if (!image.png) throw new UnprocessableUploadError(`The ${image.what} is not a PNG: send the edit as a PNG file.`);
    try {
      editImageFit(image.png, geometry, `The ${image.what}`, editImageOptions(edit));
    } catch (err) {
      throw isInputError(err) ? new UnprocessableUploadError(err.message) : err;
    }
  }
}

/** Ids are UUIDs; anything else cannot be a job (404 without touching Redis). */
function checkId(id: string): string {
  if (!isJobId(id)) throw new JobNotFoundError(id.slice(0, 64));
  return id;
}

/** The pipeline's form of an edit, for validation (keys stand in for paths: only indices and names are checked). */
