import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  ArtifactNotFoundError,
  assertSafeKey,
  type ArtifactInfo,
  type ArtifactStore,
  type PutOptions,
} from './artifact-store';
import { withRetry } from './retry';

/** Connection of an {@link S3ArtifactStore}. Credentials stay inside the client; nothing here is logged. */
export interface S3StoreOptions {
  readonly bucket: string;
  readonly region: string;
  /** S3-compatible endpoint (MinIO, s3rver); unset for AWS. */
  readonly endpoint?: string;
  /** Endpoint written into presigned URLs when clients reach S3 by another address. Default: `endpoint`. */
  readonly publicEndpoint?: string;
  /** Path-style addressing (MinIO, s3rver). Default: true when `endpoint` is set. */
  readonly forcePathStyle?: boolean;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Multipart part size in bytes (≥ 5 MiB, S3's minimum). Default 8 MiB. */
  readonly partSize?: number;
  /** Parts uploaded at once; memory use is about `partSize × queueSize`. Default 4. */
  readonly queueSize?: number;
}

const MiB = 1024 * 1024;

/**
 * The artifact store on S3 or an S3-compatible server. Large writes are multipart (`@aws-sdk/lib-storage` Upload)
 * so memory stays at `partSize × queueSize` whatever the size. Each request is retried with exponential backoff by
 * the SDK (`retryMode: standard`, 5 attempts); operations the SDK cannot replay (a file upload re-read from disk, a
 * download restarted from the beginning) are retried whole by `withRetry`.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  /** The SDK client (tests add middleware to observe requests). */
  readonly client: S3Client;
  private readonly presignClient: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.client = new S3Client(clientConfig(options, options.endpoint));
    this.presignClient = options.publicEndpoint
      ? new S3Client(clientConfig(options, options.publicEndpoint))
      : this.client;
  }

  /** Creates the bucket when it does not exist (dev and compose set `S3_CREATE_BUCKET=1`). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (err) {
      if (httpStatus(err) !== 404 && (err as Error).name !== 'NotFound') throw err;
      await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket }));
    }
  }

  async putStream(key: string, body: Readable, options: PutOptions = {}): Promise<number> {
    assertSafeKey(key);
    let bytes = 0;
    const counted = new PassThrough();
    counted.on('data', (chunk: Buffer) => (bytes += chunk.length));
    // Errors of the source must reach the upload, which reads `counted`.
    body.on('error', (err) => counted.destroy(err));
    body.pipe(counted);
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: key,
        Body: counted,
        ContentType: options.contentType ?? 'application/octet-stream',
      },
      partSize: this.options.partSize ?? 8 * MiB,
      queueSize: this.options.queueSize ?? 4,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      options.signal?.throwIfAborted();
      await upload.done();
      return bytes;
    } catch (err) {
      body.unpipe(counted);
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<number> {
    // A file can be re-read, so a transient failure restarts the whole upload.
    return withRetry(() => this.putStream(key, createReadStream(path), options), { signal: options.signal });
  }

  async putBuffer(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<number> {
    const bytes =
      typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return withRetry(() => this.putStream(key, Readable.from([bytes]), options), { signal: options.signal });
  }

  async getStream(key: string): Promise<Readable> {
    assertSafeKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new ArtifactNotFoundError(key);
      throw err;
    }
  }

  async downloadToFile(key: string, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomUUID()}.part`;
    try {
      await withRetry(async () => pipeline(await this.getStream(key), createWriteStream(tmp)));
      await rename(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    return withRetry(async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of await this.getStream(key)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  async exists(key: string): Promise<boolean> {
    assertSafeKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<ArtifactInfo[]> {
    if (prefix !== '') assertSafeKey(prefix);
    const out: ArtifactInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? [])
        if (o.Key)
          out.push({ key: o.Key, size: o.Size ?? 0, ...(o.LastModified ? { lastModified: o.LastModified } : {}) });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const items = await this.list(prefix);
    // DeleteObjects takes at most 1000 keys per request.
    for (let i = 0; i < items.length; i += 1000) {
      const batch = items.slice(i, i + 1000).map((o) => ({ Key: o.key }));
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: batch, Quiet: true } }),
      );
    }
    return items.length;
  }

  /**
   * Aborts the bucket's multipart uploads initiated before `before`. A server without the API (s3rver answers
   * NotImplemented) has none to abort: 0. Production buckets should also carry a lifecycle rule
   * (`AbortIncompleteMultipartUpload`), which S3 applies even when no farm process runs.
   */
  async abortIncompleteUploads(before: Date): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.options.bucket,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (err) {
        if ((err as Error).name === 'NotImplemented' || httpStatus(err) === 501) return aborted;
        throw err;
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= before) continue;
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: u.Key, UploadId: u.UploadId }),
        );
        aborted++;
      }
      if (!page.IsTruncated) return aborted;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async presignedGetUrl(key: string, expiresInS: number, downloadName?: string): Promise<string> {
    assertSafeKey(key);
    const command = new GetObjectCommand({
      Bucket: this.options.bucket,
      Key: key,
      ResponseContentDisposition: downloadName
        ? `attachment; filename="${downloadName.replace(/[^A-Za-z0-9._-]/g, '_')}"`
        : undefined,
    });
    return getSignedUrl(this.presignClient, command, { expiresIn: expiresInS });
  }

  async close(): Promise<void> {
    this.client.destroy();
    if (this.presignClient !== this.client) this.presignClient.destroy();
  }
}

function clientConfig(options: S3StoreOptions, endpoint: string | undefined): S3ClientConfig {
  return {
    region: options.region,
    endpoint,
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    credentials: options.credentials ? { ...options.credentials } : undefined,
    maxAttempts: 5,
    retryMode: 'standard',
    // S3-compatible servers (MinIO versions, s3rver) do not all understand the SDK's default trailing CRC checksums
    // on streamed bodies; send checksums only where the operation requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}
