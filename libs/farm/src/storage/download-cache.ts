import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
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
 * takes several windows of one job fetches the job's frames, features and model once. A hit is a local copy of the
 * cached file; everything else passes through unchanged.
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
    const cached = join(this.options.dir, createHash('sha256').update(key).digest('hex'));
    if (!(await isFile(cached))) {
      await mkdir(this.options.dir, { recursive: true });
      const partial = `${cached}.${process.pid}.part`;
      try {
        await this.inner.downloadToFile(key, partial);
        await rename(partial, cached);
      } finally {
        await rm(partial, { force: true });
      }
      await this.evict(cached);
    } else {
      const now = new Date();
      await utimes(cached, now, now); // recently used: evicted last
    }
    // A copy (a reflink where the file system can), never a hard link: a stage may rewrite a file it was given.
    await mkdir(dirname(path), { recursive: true });
    await copyFile(cached, path, constants.COPYFILE_FICLONE);
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
  putFile(key: string, path: string, options?: PutOptions): Promise<number> {
    return this.inner.putFile(key, path, options);
  }
  putBuffer(key: string, body: Uint8Array | string, options?: PutOptions): Promise<number> {
    return this.inner.putBuffer(key, body, options);
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
