import { appendFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Transform, type Readable } from 'node:stream';
import type { ArtifactInfo, ArtifactStore, PutOptions } from './artifact-store';

/** The store operations that are timed (every method that talks to the storage). */
export type StoreOperationName =
  | 'putStream'
  | 'putFile'
  | 'putBuffer'
  | 'getStream'
  | 'downloadToFile'
  | 'getBuffer'
  | 'exists'
  | 'list'
  | 'deletePrefix'
  | 'presignedGetUrl';

/** One timed store call. */
export interface StoreOperation {
  readonly op: StoreOperationName;
  /** The key (or prefix, for `list` / `deletePrefix`). */
  readonly key: string;
  /** Bytes moved (written or read); 0 for metadata calls and for transfers of unknown size. */
  readonly bytes: number;
  /** From the call until its promise settled (`getStream`: until the stream ended or failed). */
  readonly ms: number;
  /** Epoch ms at the call. */
  readonly at: number;
  readonly ok: boolean;
}

/** Receives each operation as it ends; must not throw (see {@link jsonLinesSink}). */
export type StoreOperationSink = (op: StoreOperation) => void;

/** Count, bytes and time of one kind of operation (or of all). */
export interface StoreTally {
  count: number;
  bytes: number;
  ms: number;
}

/**
 * Times every call of the store it wraps and hands each {@link StoreOperation} to `sink`: how much of a job's wall
 * time goes to storage (`streamedit bench farm`, enabled by `FARM_STORE_TIMINGS`). A decorator like
 * `ChecksummedArtifactStore`; wrapped outside it, the times include checksum work, which is storage overhead too.
 */
export class InstrumentedArtifactStore implements ArtifactStore {
  readonly kind: 's3' | 'local';

  constructor(
    readonly inner: ArtifactStore,
    private readonly sink: StoreOperationSink,
  ) {
    this.kind = inner.kind;
  }

  putStream(key: string, body: Readable, options?: PutOptions): Promise<number> {
    return this.timed(
      'putStream',
      key,
      () => this.inner.putStream(key, body, options),
      (n) => n,
    );
  }

  putFile(key: string, path: string, options?: PutOptions): Promise<number> {
    return this.timed(
      'putFile',
      key,
      () => this.inner.putFile(key, path, options),
      (n) => n,
    );
  }

  putBuffer(key: string, body: Uint8Array | string, options?: PutOptions): Promise<number> {
    return this.timed(
      'putBuffer',
      key,
      () => this.inner.putBuffer(key, body, options),
      (n) => n,
    );
  }

  /** Timed until the returned stream ends (the caller's reading is part of it: the transfer is). */
  async getStream(key: string): Promise<Readable> {
    const at = Date.now();
    const start = performance.now();
    let source: Readable;
    try {
      source = await this.inner.getStream(key);
    } catch (err) {
      this.record('getStream', key, 0, start, at, false);
      throw err;
    }
    let bytes = 0;
    let done = false;
    const end = (ok: boolean) => {
      if (done) return;
      done = true;
      this.record('getStream', key, bytes, start, at, ok);
    };
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    source.on('error', (err) => counter.destroy(err));
    counter.on('end', () => end(true));
    counter.on('close', () => end(counter.readableEnded));
    return source.pipe(counter);
  }

  async downloadToFile(key: string, path: string): Promise<void> {
    const at = Date.now();
    const start = performance.now();
    try {
      await this.inner.downloadToFile(key, path);
    } catch (err) {
      this.record('downloadToFile', key, 0, start, at, false);
      throw err;
    }
    const ms = performance.now() - start;
    // The size is read after the clock stopped: the stat is the measurement's, not the transfer's.
    const bytes = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    this.sink({ op: 'downloadToFile', key, bytes, ms, at, ok: true });
  }

  getBuffer(key: string): Promise<Buffer> {
    return this.timed(
      'getBuffer',
      key,
      () => this.inner.getBuffer(key),
      (b) => b.length,
    );
  }

  exists(key: string): Promise<boolean> {
    return this.timed(
      'exists',
      key,
      () => this.inner.exists(key),
      () => 0,
    );
  }

  list(prefix: string): Promise<ArtifactInfo[]> {
    return this.timed(
      'list',
      prefix,
      () => this.inner.list(prefix),
      () => 0,
    );
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.timed(
      'deletePrefix',
      prefix,
      () => this.inner.deletePrefix(prefix),
      () => 0,
    );
  }

  presignedGetUrl(key: string, expiresInS: number, downloadName?: string): Promise<string> {
    return this.timed(
      'presignedGetUrl',
      key,
      () => this.inner.presignedGetUrl(key, expiresInS, downloadName),
      () => 0,
    );
  }

  async abortIncompleteUploads(before: Date): Promise<number> {
    return (await this.inner.abortIncompleteUploads?.(before)) ?? 0;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async timed<T>(
    op: StoreOperationName,
    key: string,
    call: () => Promise<T>,
    size: (r: T) => number,
  ): Promise<T> {
    const at = Date.now();
    const start = performance.now();
    try {
      const result = await call();
      this.record(op, key, size(result), start, at, true);
      return result;
    } catch (err) {
      this.record(op, key, 0, start, at, false);
      throw err;
    }
  }

  private record(op: StoreOperationName, key: string, bytes: number, start: number, at: number, ok: boolean): void {
    this.sink({ op, key, bytes, ms: performance.now() - start, at, ok });
  }
}

/**
 * A sink appending one JSON line per operation to `path` (with `source`, e.g. the worker id), synchronously so that
 * a worker stopped by a signal loses nothing. Write errors are swallowed: timing must never fail a stage.
 */
export function jsonLinesSink(path: string, source: string): StoreOperationSink {
  return (op) => {
    try {
      appendFileSync(path, `${JSON.stringify({ ...op, source })}\n`);
    } catch {
      // measuring is best effort
    }
  };
}

/** Totals per operation kind and over all (`all`) of `ops`. */
export function tallyStoreOperations(ops: Iterable<StoreOperation>): Record<StoreOperationName | 'all', StoreTally> {
  const out = {} as Record<StoreOperationName | 'all', StoreTally>;
  const add = (name: StoreOperationName | 'all', op: StoreOperation) => {
    const t = (out[name] ??= { count: 0, bytes: 0, ms: 0 });
    t.count += 1;
    t.bytes += op.bytes;
    t.ms += op.ms;
  };
  for (const op of ops) {
    add(op.op, op);
    add('all', op);
  }
  out.all ??= { count: 0, bytes: 0, ms: 0 };
  return out;
}
