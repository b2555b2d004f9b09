import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactNotFoundError,
  assertSafeKey,
  type ArtifactInfo,
  type ArtifactStore,
  type PutOptions,
} from './artifact-store';

/** Staging folder for writes in progress (renamed into place when complete, so readers never see half a file). */
const STAGING = '.staging';

/**
 * The artifact store as a local folder (embedded mode, `FARM_STORAGE=local`). Keys map to paths under `root`;
 * writes go to a staging file first and are renamed into place, so a key is either absent or complete.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local' as const;

  constructor(readonly root: string) {}

  async putStream(key: string, body: Readable, options: PutOptions = {}): Promise<number> {
    return this.write(key, async (tmp) => {
      await pipeline(body, createWriteStream(tmp), { signal: options.signal });
    });
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<number> {
    options.signal?.throwIfAborted();
    return this.write(key, (tmp) => copyFile(path, tmp));
  }

  async putBuffer(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<number> {
    options.signal?.throwIfAborted();
    return this.write(key, (tmp) => writeFile(tmp, body));
  }

  async getStream(key: string): Promise<Readable> {
    const path = this.path(key);
    if (!(await isFile(path))) throw new ArtifactNotFoundError(key);
    return createReadStream(path);
  }

  async downloadToFile(key: string, path: string): Promise<void> {
    const source = this.path(key);
    if (!(await isFile(source))) throw new ArtifactNotFoundError(key);
    await mkdir(dirname(path), { recursive: true });
    await copyFile(source, path);
  }

  async getBuffer(key: string): Promise<Buffer> {
    const path = this.path(key);
    if (!(await isFile(path))) throw new ArtifactNotFoundError(key);
    return readFile(path);
  }

  async exists(key: string): Promise<boolean> {
    return isFile(this.path(key));
  }

  async list(prefix: string): Promise<ArtifactInfo[]> {
    if (prefix !== '') assertSafeKey(prefix);
    // Walk only the folder that contains the prefix, then filter by the full prefix.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const out: ArtifactInfo[] = [];
    for (const path of await walk(join(this.root, base))) {
      const key = relative(this.root, path).split(sep).join('/');
      if (key.startsWith(`${STAGING}/`) || !key.startsWith(prefix)) continue;
      const st = await stat(path);
      out.push({ key, size: st.size, lastModified: st.mtime });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const items = await this.list(prefix);
    for (const item of items) await rm(this.path(item.key), { force: true });
    await this.pruneEmptyFolders(items.map((i) => dirname(this.path(i.key))));
    return items.length;
  }

  async presignedGetUrl(): Promise<string> {
    throw new Error('The local artifact store has no presigned URLs: the API streams local results itself.');
  }

  async close(): Promise<void> {}

  /** The local path of a key (checked: stays under the root). */
  path(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }

  private async write(key: string, fill: (tmp: string) => Promise<void>): Promise<number> {
    const target = this.path(key);
    const tmp = join(this.root, STAGING, randomUUID());
    await mkdir(dirname(tmp), { recursive: true });
    try {
      await fill(tmp);
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
      return (await stat(target)).size;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Removes folders left empty by a delete, up to the root (non-empty ones stay: rmdir refuses them). */
  private async pruneEmptyFolders(folders: string[]): Promise<void> {
    const unique = [...new Set(folders)].sort((a, b) => b.length - a.length);
    for (let folder of unique) {
      while (folder.startsWith(this.root + sep) && folder !== this.root) {
        try {
          await rmdir(folder);
        } catch {
          break;
        }
        folder = dirname(folder);
      }
    }
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
