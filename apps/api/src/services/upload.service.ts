import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { InputError } from '@streamedit/pipeline';
import { jobKeys, type ArtifactStore, type FarmConfig } from '@streamedit/farm';
import { ARTIFACT_STORE, FARM_CONFIG } from '../api.tokens';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './upload-errors';

/** An edit image held on local disk until the whole request has been checked (then `storeImages` uploads it). */
export interface SpooledImage {
  /** The storage key it will have. */
  readonly key: string;
  /** Its local copy (in the caller's temp dir). */
  readonly path: string;
  /** What the caller calls it in messages ("keyframe image 2", "overlay image"; messages say `The ${what} …`). */
  readonly what: string;
  /** Its size from the PNG header; null when the file is not a PNG. */
  readonly png: { readonly width: number; readonly height: number } | null;
}

/**
 * What a multipart upload delivered: the video is already in the store (and on local disk for ffprobe); edit images
 * are on local disk only, so a refused request never stores them (see {@link UploadService.storeImages}).
 */
export interface ReceivedUpload {
  readonly videoBytes: number | null;
  /** Local copy of the video (in the caller's temp dir), only meaningful when `videoBytes` is set. */
  readonly videoPath: string;
  /** Keyframe images' storage keys, in the order they were sent (the k-th pairs with the k-th `keyframeAt`). */
  readonly keyframeKeys: readonly string[];
  readonly overlayKey: string | null;
  /** Every edit image by storage key. */
  readonly images: ReadonlyMap<string, SpooledImage>;
  /** Text fields; a repeated field keeps every value. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
  /** The body's content digest (see {@link BodyFingerprint}), for idempotency conflicts. */
  readonly fingerprint: string;
}

const MiB = 1024 * 1024;
const TEXT_FIELDS = new Set([
  'look',
  'prompt',
  'keyframeAt',
  'at',
  'preset',
  'priority',
  'frames',
  'upscaleKeyframe',
  'options',
]);
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
      const images = new Map<string, SpooledImage>();
      const fingerprint = new BodyFingerprint();
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
        else
          resolve({
            videoBytes,
            videoPath,
            keyframeKeys,
            overlayKey,
            images,
            fields,
            fingerprint: fingerprint.digest(),
          });
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
        fingerprint.file(name, stream);
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
          const what = `keyframe image ${keyframeKeys.length}`;
          const path = join(tmpDir, `keyframe-${keyframeKeys.length}`);
          track(
            stream,
            this.spoolImage(stream, path, what).then((png) => images.set(key, { key, path, what, png })),
          );
        } else if (name === 'overlay') {
          if (overlayKey) return fail(new InputError('Send one overlay image.'));
          overlayKey = keys.overlay;
          const key = keys.overlay;
          const path = join(tmpDir, 'overlay');
          track(
            stream,
            this.spoolImage(stream, path, 'overlay image').then((png) =>
              images.set(key, { key, path, what: 'overlay image', png }),
            ),
          );
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
        fingerprint.field(name, value);
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

  /**
   * The fingerprint of a body that is not kept (a replay of an `Idempotency-Key`): read to the end, hashed, dropped.
   * Bodies over the upload limit are refused (413) as in {@link receive}.
   */
  fingerprint(req: Request): Promise<string> {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: MAX_KEYFRAMES + 2, fields: 64, parts: 100 } });
    } catch (err) {
      return Promise.reject(new InputError(`The multipart request cannot be read (${(err as Error).message}).`));
    }
    const limit = (this.config.maxUploadMb + (MAX_KEYFRAMES + 1) * this.config.maxImageMb) * MiB;
    return new Promise((resolve, reject) => {
      const fingerprint = new BodyFingerprint();
      let bytes = 0;
      const fail = (err: Error) => {
        req.unpipe(parser);
        req.resume();
        reject(err);
      };
      parser.on('file', (name, stream) => {
        fingerprint.file(name, stream);
        stream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > limit) fail(new PayloadTooLargeError('The request is larger than the upload limits.'));
        });
      });
      parser.on('field', (name, value) => fingerprint.field(name, value));
      parser.on('error', (err: Error) => fail(new InputError(`The multipart body is malformed (${err.message}).`)));
      parser.on('close', () => resolve(fingerprint.digest()));
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

  /**
   * Writes an edit image to local disk (413 past `FARM_MAX_IMAGE_MB`, before anything reaches the store) and reads
   * its PNG header on the way. Images are small enough that uploading them after the checks costs little.
   */
  private async spoolImage(source: Readable, path: string, what: string): Promise<SpooledImage['png']> {
    const { counter } = sizeLimit(
      this.config.maxImageMb * MiB,
      () =>
        new PayloadTooLargeError(
          `The ${what} is larger than ${this.config.maxImageMb} MB: send a PNG at the video's size.`,
        ),
    );
    const head: Buffer[] = [];
    let headBytes = 0;
    counter.on('data', (chunk: Buffer) => {
      if (headBytes < PNG_HEAD_BYTES) head.push(chunk.subarray(0, PNG_HEAD_BYTES - headBytes));
      headBytes += chunk.length;
    });
    const results = await Promise.allSettled([pipeline(source, counter, createWriteStream(path))]);
    throwFirst(results);
    return pngSize(Buffer.concat(head));
  }

  /** Uploads the spooled edit images once the request passed every check. */
  async storeImages(upload: ReceivedUpload): Promise<void> {
    for (const image of upload.images.values())
      await this.store.putFile(image.key, image.path, { contentType: 'image/png' });
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Signature (8), IHDR length (4) and type (4), width (4), height (4). */
const PNG_HEAD_BYTES = 24;

/** Width and height from a PNG's first bytes (its IHDR chunk); null when they are not a PNG's. */
export function pngSize(head: Buffer): { width: number; height: number } | null {
  if (head.length < PNG_HEAD_BYTES || !head.subarray(0, 8).equals(PNG_SIGNATURE)) return null;
  if (head.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}

/**
 * A digest of a multipart body's content that does not depend on its boundary or on the order of different fields:
 * each part's name and the sha256 of its content, in the order sent per name (keyframes pair with `keyframeAt` in
 * that order). Two requests with the same fields and files have the same fingerprint.
 */
export class BodyFingerprint {
  private readonly parts: Array<[string, string]> = [];

  field(name: string, value: string): void {
    this.parts.push([name, createHash('sha256').update(value).digest('hex')]);
  }

  /** Hashes a file part as it streams (the caller still reads `stream`). */
  file(name: string, stream: Readable): void {
    const slot: [string, string] = [name, ''];
    this.parts.push(slot);
    const hash = createHash('sha256');
    stream.on('data', (chunk: Buffer) => hash.update(chunk));
    stream.once('end', () => (slot[1] = hash.digest('hex')));
  }

  digest(): string {
    const sorted = this.parts
      .map(([n, d], i) => ({ n, d, i }))
      .sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : a.i - b.i));
    return createHash('sha256')
      .update(sorted.map((p) => `${p.n}\0${p.d}`).join('\n'))
      .digest('hex');
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
