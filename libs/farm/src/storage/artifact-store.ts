import type { Readable } from 'node:stream';

/** One stored object, as listed. */
export interface ArtifactInfo {
  readonly key: string;
  readonly size: number;
  /** When it was last written, where the store says (S3, local files). */
  readonly lastModified?: Date;
}

/** Options of a write. */
export interface PutOptions {
  /** MIME type stored with the object (S3 `Content-Type`). Default `application/octet-stream`. */
  readonly contentType?: string;
  /** Aborts an upload in progress; what was written is removed. */
  readonly signal?: AbortSignal;
}

/**
 * Where the farm keeps every artifact of a job (see `keys.ts` for the layout): an S3 bucket (`S3ArtifactStore`) or a
 * local folder (`LocalArtifactStore`, embedded mode). Writes are whole-object: a key is either absent or complete.
 */
export interface ArtifactStore {
  /** `s3` or `local`: decides whether results are handed out as presigned URLs or streamed by the API. */
  readonly kind: 's3' | 'local';
  /** Streams `body` to `key` (multipart on S3, so size is not limited by memory). Returns the bytes written. */
  putStream(key: string, body: Readable, options?: PutOptions): Promise<number>;
  /** Uploads a local file. */
  putFile(key: string, path: string, options?: PutOptions): Promise<number>;
  /** Writes a small in-memory object (JSON reports, keyframes). */
  putBuffer(key: string, body: Uint8Array | string, options?: PutOptions): Promise<number>;
  /** A readable stream of `key`; rejects with `ArtifactNotFoundError` when absent. */
  getStream(key: string): Promise<Readable>;
  /** Downloads `key` into the local file `path` (created or replaced). */
  downloadToFile(key: string, path: string): Promise<void>;
  /** Whole object as bytes: for small objects only (reports, JSON). */
  getBuffer(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ArtifactInfo[]>;
  /** Removes every object under `prefix`; returns how many were removed. */
  deletePrefix(prefix: string): Promise<number>;
  /** A URL that GETs `key` without credentials for `expiresInS` seconds (S3 only; `local` throws). */
  presignedGetUrl(key: string, expiresInS: number, downloadName?: string): Promise<string>;
  /**
   * Aborts multipart uploads started before `before` and never completed (their parts cost storage yet are in no
   * listing); returns how many. Only stores that have such uploads implement it (S3); wrappers pass it on.
   */
  abortIncompleteUploads?(before: Date): Promise<number>;
  /** Releases clients (sockets). */
  close(): Promise<void>;
}

/** The object does not exist. */
export class ArtifactNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Artifact ${key} does not exist.`);
    this.name = 'ArtifactNotFoundError';
  }
}

/** A key must be relative, slash-separated, without `..` or empty segments: checked by every store. */
export function assertSafeKey(key: string): void {
  if (
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.split('/').some((s) => s === '..' || s === '.')
  ) {
    throw new Error(`Unsafe artifact key ${JSON.stringify(key)}.`);
  }
}
