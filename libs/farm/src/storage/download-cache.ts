import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactInfo, ArtifactStore, PutOptions } from './artifact-store';

/**
 * Keys that never change once a consumer can read them: the analysis (written by analyze before train starts), the
 * model and the windows' edited references (written by train before any render starts), the edit images. Render
 * outputs, checkpoints and reports may be rewritten by a retried attempt, so they are never cached.
 */
const IMMUTABLE = /^jobs\/[^/]+\/(frames\/|landmarks\/|features\/|references\/|edit\/|model\.onnx$)/;

export interface DownloadCacheOptions {
  /** Folder of the cached files (created). */
  readonly dir: string;
  /** Total size kept; the least recently used files go first. */
  readonly maxBytes: number;
}

/**
 * A worker-local cache in front of a store, for downloads of immutable artifacts ({@link IMMUTABLE}): a renderer that
 * takes several windows of one job fetches the job's frames, features and model once, and a worker never downloads
 * what it uploaded itself (uploads of those keys seed the cache). A hit is a local copy of the cached file;
 * everything else passes through unchanged.
 */
export class DownloadCachingStore implements ArtifactStore {
  readonly kind: ArtifactStore['kind'];

  constructor(
    private readonly inner: ArtifactStore,
    private readonly options: DownloadCacheOptions,
  ) {
    this.kind = inner.kind;
  }

  async downloadToFile(key: string, path: string): Promise<void> {
    if (!IMMUTABLE.test(key)) return this.inner.downloadToFile(key, path);
    const cached = this.cachedPath(key);
    if (!(await isFile(cached))) {
      await this.fill(cached, (partial) => this.inner.downloadToFile(key, partial));
    } else {
      const now = new Date();
      await utimes(cached, now, now); // recently used: evicted last
    }
    // A copy (a reflink where the file system can), never a hard link: a stage may rewrite a file it was given.
    await mkdir(dirname(path), { recursive: true });
    await copyFile(cached, path, constants.COPYFILE_FICLONE);
  }

  private cachedPath(key: string): string {
    return join(this.options.dir, createHash('sha256').update(key).digest('hex'));
  }

  /** Writes a cache entry through a `.part` file (never half a file under the final name), then evicts. */
  private async fill(cached: string, write: (partial: string) => Promise<void>): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    const partial = `${cached}.${process.pid}.part`;
    try {
      await write(partial);
      await rename(partial, cached);
    } finally {
      await rm(partial, { force: true });
    }
    await this.evict(cached);
  }

  /**
   * Seeds the cache with what this worker itself uploads (write-through): the trainer that analysed a job trains it
   * from its own copy of the analysis instead of downloading what it has just uploaded.
   */
  private async seed(key: string, write: (partial: string) => Promise<void>): Promise<void> {
    if (IMMUTABLE.test(key)) await this.fill(this.cachedPath(key), write);
  }

  /** Removes the least recently used files until the cache fits `maxBytes` (never `keep`, the file just added). */
  private async evict(keep: string): Promise<void> {
    const files = await Promise.all(
      (await readdir(this.options.dir))
        .filter((n) => !n.endsWith('.part'))
        .map(async (n) => ({ path: join(this.options.dir, n), ...(await stat(join(this.options.dir, n))) })),
    );
    let total = files.reduce((s, f) => s + f.size, 0);
    for (const f of files.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if (total <= this.options.maxBytes) return;
      if (f.path === keep) continue;
      await rm(f.path, { force: true });
      total -= f.size;
    }
  }

  putStream(key: string, body: Readable, options?: PutOptions): Promise<number> {
    return this.inner.putStream(key, body, options);
  }
  async putFile(key: string, path: string, options?: PutOptions): Promise<number> {
    const bytes = await this.inner.putFile(key, path, options);
    await this.seed(key, (partial) => copyFile(path, partial, constants.COPYFILE_FICLONE));
    return bytes;
  }
  async putBuffer(key: string, body: Uint8Array | string, options?: PutOptions): Promise<number> {
    const bytes = await this.inner.putBuffer(key, body, options);
    await this.seed(key, (partial) => writeFile(partial, body));
    return bytes;
  }
  getStream(key: string): Promise<Readable> {
    return this.inner.getStream(key);
  }
  getBuffer(key: string): Promise<Buffer> {
    return this.inner.getBuffer(key);
  }
  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }
  list(prefix: string): Promise<ArtifactInfo[]> {
    return this.inner.list(prefix);
  }
  deletePrefix(prefix: string): Promise<number> {
    return this.inner.deletePrefix(prefix);
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
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
