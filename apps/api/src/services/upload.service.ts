import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { InputError } from '@streamedit/pipeline';
import { jobKeys, type ArtifactStore, type FarmConfig } from '@streamedit/farm';
import { ARTIFACT_STORE, FARM_CONFIG } from '../api.tokens';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './upload-errors';

/** What a multipart upload delivered: every file is already in the store; the video also on local disk for ffprobe. */
export interface ReceivedUpload {
  readonly videoBytes: number | null;
  /** Local copy of the video (in the caller's temp dir), only meaningful when `videoBytes` is set. */
  readonly videoPath: string;
  /** Stored keyframe images, in the order they were sent (the k-th pairs with the k-th `keyframeAt`). */
  readonly keyframeKeys: readonly string[];
  readonly overlayKey: string | null;
  /** Text fields; a repeated field keeps every value. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

const MiB = 1024 * 1024;
const TEXT_FIELDS = new Set(['look', 'prompt', 'keyframeAt', 'at', 'preset', 'priority', 'frames', 'options']);
/** Most keyframes one job may carry (the paper edits one; a few help long clips). */
const MAX_KEYFRAMES = 32;

/**
 * Reads `POST /v1/jobs` multipart bodies with busboy, streaming each file to the artifact store as it arrives
 * (memory stays bounded whatever the size) and checking size limits while streaming. The video is teed to a local
 * file too, so it can be probed without downloading it again. On any error every pending write is stopped and
 * awaited before the promise rejects, so the caller can delete the job's prefix knowing nothing is still arriving.
 */
@Injectable()
export class UploadService {
  constructor(
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {}

  receive(req: Request, id: string, tmpDir: string): Promise<ReceivedUpload> {
    if (!/^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '')) {
      return Promise.reject(
        new UnsupportedMediaTypeError(
          'POST /v1/jobs takes multipart/form-data: send the video as the file field "video" and the edit as fields.',
        ),
      );
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: MAX_KEYFRAMES + 2, fields: 64, fieldSize: 64 * 1024, parts: 100 },
      });
    } catch (err) {
      return Promise.reject(
        new InputError(
          `The multipart request cannot be read (${(err as Error).message}): send a multipart/form-data body with a boundary.`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const keys = jobKeys(id);
      const writes: Promise<unknown>[] = [];
      const open = new Set<Readable>();
      const fields = new Map<string, string[]>();
      const keyframeKeys: string[] = [];
      const videoPath = join(tmpDir, 'video');
      let videoBytes: number | null = null;
      let overlayKey: string | null = null;
      let sawVideo = false;
      let failure: Error | undefined;
      let settled = false;

      const settle = async () => {
        if (settled) return;
        settled = true;
        await Promise.allSettled(writes);
        if (failure) reject(failure);
        else resolve({ videoBytes, videoPath, keyframeKeys, overlayKey, fields });
      };
      const fail = (err: Error) => {
        if (failure) return;
        failure = err;
        // Stop parsing, discard the rest of the body, and stop every file still streaming into the store.
        req.unpipe(parser);
        req.resume();
        for (const s of open) s.destroy(err);
        void settle();
      };
      const track = (stream: Readable, write: Promise<unknown>) => {
        open.add(stream);
        stream.once('end', () => open.delete(stream));
        writes.push(write.catch((err: Error) => fail(err)));
      };

      parser.on('file', (name, stream) => {
        if (failure) return void stream.resume();
        if (name === 'video') {
          if (sawVideo) return fail(new InputError('Send one video per job.'));
          sawVideo = true;
          track(
            stream,
            this.teeVideo(stream, keys.input, videoPath).then((n) => (videoBytes = n)),
          );
        } else if (name === 'keyframe') {
          if (keyframeKeys.length >= MAX_KEYFRAMES)
            return fail(new InputError(`Send at most ${MAX_KEYFRAMES} keyframe images.`));
          const key = keys.keyframe(keyframeKeys.length);
          keyframeKeys.push(key);
          track(stream, this.storeImage(stream, key, 'keyframe image'));
        } else if (name === 'overlay') {
          if (overlayKey) return fail(new InputError('Send one overlay image.'));
          overlayKey = keys.overlay;
          track(stream, this.storeImage(stream, keys.overlay, 'overlay image'));
        } else {
          stream.resume();
          fail(
            new InputError(`Unknown file field "${printable(name)}": files go in "video", "keyframe" or "overlay".`),
          );
        }
      });
      parser.on('field', (name, value, info) => {
        if (!TEXT_FIELDS.has(name))
          return fail(
            new InputError(`Unknown field "${printable(name)}": the fields are ${[...TEXT_FIELDS].join(', ')}.`),
          );
        if (info.valueTruncated) return fail(new InputError(`The field "${name}" is longer than 64 KiB.`));
        fields.set(name, [...(fields.get(name) ?? []), value]);
      });
      for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
        parser.on(limit, () =>
          fail(new InputError('The request has too many parts: send one video, the edit, and the options.')),
        );
      }
      parser.on('error', (err: Error) =>
        fail(
          new InputError(`The multipart body is malformed (${err.message}): send a valid multipart/form-data body.`),
        ),
      );
      parser.on('close', () => void settle());
      req.on('aborted', () =>
        fail(new InputError('The upload was interrupted before it was complete: send it again.')),
      );
      req.pipe(parser);
    });
  }

  /** Streams the video to the store and to `path` at once; fails with 413 as soon as it passes the limit. */
  private async teeVideo(source: Readable, key: string, path: string): Promise<number> {
    const limit = this.config.maxUploadMb * MiB;
    const { counter, bytes } = sizeLimit(
      limit,
      () =>
        new PayloadTooLargeError(
          `The video is larger than the upload limit of ${this.config.maxUploadMb} MB: send a shorter or more compressed video.`,
        ),
    );
    const toStore = new PassThrough();
    const toDisk = createWriteStream(path);
    const stop = (err: Error) => {
      toStore.destroy(err);
      toDisk.destroy(err);
    };
    source.once('error', stop);
    counter.once('error', stop);
    source.pipe(counter);
    counter.pipe(toStore);
    counter.pipe(toDisk);
    const results = await Promise.allSettled([
      this.store.putStream(key, toStore, { contentType: 'application/octet-stream' }),
      finished(toDisk),
    ]);
    throwFirst(results);
    return bytes();
  }

  private async storeImage(source: Readable, key: string, what: string): Promise<number> {
    const { counter } = sizeLimit(
      this.config.maxImageMb * MiB,
      () =>
        new PayloadTooLargeError(
          `The ${what} is larger than ${this.config.maxImageMb} MB: send a PNG at the video's size.`,
        ),
    );
    const out = new PassThrough();
    source.once('error', (err) => out.destroy(err));
    counter.once('error', (err) => out.destroy(err));
    source.pipe(counter).pipe(out);
    return this.store.putStream(key, out, { contentType: 'image/png' });
  }
}

/** A pass-through that errors once more than `limit` bytes went through. */
function sizeLimit(limit: number, error: () => Error): { counter: Transform; bytes: () => number } {
  let n = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > limit) cb(error());
      else cb(null, chunk);
    },
  });
  return { counter, bytes: () => n };
}

/** Throws the most telling rejection: a size-limit error wins over the "stream destroyed" errors it causes. */
function throwFirst(results: PromiseSettledResult<unknown>[]): void {
  const errors = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason as Error);
  if (errors.length > 0) throw errors.find((e) => e instanceof InputError) ?? errors[0];
}

/** A field name safe to echo in a message (busboy gives none for a part whose header it cannot read). */
function printable(name: string | undefined): string {
  return (name ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
