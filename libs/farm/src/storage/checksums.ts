import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactNotFoundError, type ArtifactInfo, type ArtifactStore, type PutOptions } from './artifact-store';

/** A stored object's bytes no longer match the sha256 recorded when it was written. Never a silent bad output. */
export class ArtifactCorruptError extends Error {
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `Artifact ${key} is corrupt: its sha256 is ${actual.slice(0, 12)}…, but ${expected.slice(0, 12)}… was recorded ` +
        'when it was written (damaged or changed in storage); the stage that wrote it must run again.',
    );
    this.name = 'ArtifactCorruptError';
  }
}

/** Folder of the checksums, inside each job's prefix so deleting a job deletes them too. Names never start with '.'. */
const SUMS = '.sums';
/** Written before an object is replaced: a crash between the two writes leaves "unknown", never a stale sum. */
const PENDING = 'pending';

/** Where the sha256 of `key` is kept: `jobs/{id}/.sums/{rest}` (or `.sums/{key}` outside a job). */
export function checksumKey(key: string): string {
  const m = /^(jobs\/[^/]+\/)(.+)$/.exec(key);
  return m ? `${m[1]}${SUMS}/${m[2]}` : `${SUMS}/${key}`;
}

function isChecksumKey(key: string): boolean {
  return key.startsWith(`${SUMS}/`) || key.includes(`/${SUMS}/`);
}

/**
 * Every artifact with its sha256: writes record the digest of what was written (`checksumKey`), reads check it and
 * throw {@link ArtifactCorruptError} on a mismatch, so a damaged checkpoint, model, segment or upload fails the
 * stage with a clear message instead of flowing into a bad output. Objects written before this existed (no sum)
 * are read unchecked. A decorator over any store: the S3 and local stores stay plain byte stores.
 *
 * A rewrite goes: sum := pending, object, sum := digest. Readers take a pending or missing sum as unknown.
 * Presigned URLs are served by S3 itself and are not checked here.
 */
export class ChecksummedArtifactStore implements ArtifactStore {
  readonly kind: 's3' | 'local';

  constructor(readonly inner: ArtifactStore) {
    this.kind = inner.kind;
  }

  async putStream(key: string, body: Readable, options: PutOptions = {}): Promise<number> {
    const digest = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        digest.update(chunk);
        cb(null, chunk);
      },
    });
    let failure: Error | undefined;
    body.on('error', (err) => {
      failure ??= err;
      tap.destroy(err);
    });
    // The store attaches its own listeners only after the checksum marker is written: until then, an error of the
    // source (a client aborting its upload, a size limit) must not be an unhandled 'error' event, and a source that
    // failed meanwhile must fail the write instead of handing the store a dead stream it would wait on for ever.
    tap.on('error', (err) => (failure ??= err));
    body.pipe(tap);
    // A stream cannot be replayed, so neither is its write: its checksums go up in one attempt each too (an API
    // upload fails fast, 503, while storage is down, instead of waiting out the file-upload retries).
    const put = () => {
      if (failure || tap.destroyed)
        return Promise.reject(failure ?? new Error(`The source of ${key} ended before it could be stored.`));
      return this.inner.putStream(key, tap, options);
    };
    try {
      return await this.write(key, options, put, () => digest.digest('hex'), false);
    } catch (err) {
      // Keep the source flowing into nothing: a caller teeing it elsewhere (the API's upload, also written to
      // disk) would otherwise wait for ever on a stream nobody reads.
      body.unpipe(tap);
      body.resume();
      throw err;
    }
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<number> {
    const sum = await sha256File(path);
    return this.write(
      key,
      options,
      () => this.inner.putFile(key, path, options),
      () => sum,
    );
  }

  async putBuffer(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<number> {
    const sum = createHash('sha256').update(body).digest('hex');
    return this.write(
      key,
      options,
      () => this.inner.putBuffer(key, body, options),
      () => sum,
    );
  }

  /** The object, checked as it streams: a mismatch destroys the stream with {@link ArtifactCorruptError} at its end. */
  async getStream(key: string): Promise<Readable> {
    const expected = await this.expected(key);
    const source = await this.inner.getStream(key);
    if (!expected) return source;
    const digest = createHash('sha256');
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        digest.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        const actual = digest.digest('hex');
        cb(actual === expected ? null : new ArtifactCorruptError(key, expected, actual));
      },
    });
    source.on('error', (err) => check.destroy(err));
    return source.pipe(check);
  }

  async downloadToFile(key: string, path: string): Promise<void> {
    const expected = await this.expected(key);
    await this.inner.downloadToFile(key, path);
    if (!expected) return;
    const actual = await sha256File(path);
    if (actual !== expected) {
      await rm(path, { force: true });
      throw new ArtifactCorruptError(key, expected, actual);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const expected = await this.expected(key);
    const body = await this.inner.getBuffer(key);
    if (expected) {
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== expected) throw new ArtifactCorruptError(key, expected, actual);
    }
    return body;
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  async list(prefix: string): Promise<ArtifactInfo[]> {
    return (await this.inner.list(prefix)).filter((o) => !isChecksumKey(o.key));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const n = (await this.list(prefix)).length;
    await this.inner.deletePrefix(prefix);
    // A prefix inside a job (`jobs/{id}/frames/`) does not cover `jobs/{id}/.sums/frames/`.
    if (!isChecksumKey(prefix) && checksumKey(prefix) !== prefix) await this.inner.deletePrefix(checksumKey(prefix));
    return n;
  }

  presignedGetUrl(key: string, expiresInS: number, downloadName?: string): Promise<string> {
    return this.inner.presignedGetUrl(key, expiresInS, downloadName);
  }

  async abortIncompleteUploads(before: Date): Promise<number> {
    return (await this.inner.abortIncompleteUploads?.(before)) ?? 0;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** sum := pending, object, sum := digest; `retried`: the sums with the file-upload retries (else one attempt). */
  private async write(
    key: string,
    options: PutOptions,
    put: () => Promise<number>,
    sum: () => string,
    retried = true,
  ): Promise<number> {
    const putSum = (text: string) => {
      const opts = { contentType: 'text/plain', signal: options.signal };
      const target = checksumKey(key);
      return retried
        ? this.inner.putBuffer(target, text, opts)
        : this.inner.putStream(target, Readable.from([Buffer.from(text)]), opts);
    };
    await putSum(PENDING);
    const bytes = await put();
    await putSum(sum());
    return bytes;
  }

  /** The recorded sha256 of `key`, or undefined when none was recorded (older object, or a write in progress). */
  private async expected(key: string): Promise<string | undefined> {
    try {
      const text = (await this.inner.getBuffer(checksumKey(key))).toString('utf8').trim();
      return /^[0-9a-f]{64}$/.test(text) ? text : undefined;
    } catch (err) {
      if (err instanceof ArtifactNotFoundError) return undefined;
      throw err;
    }
  }
}

/** The sha256 of a local file, in hex. */
export async function sha256File(path: string): Promise<string> {
  const digest = createHash('sha256');
  await pipeline(createReadStream(path), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) digest.update(chunk);
  });
  return digest.digest('hex');
}
