import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * Checksums of files already hashed in this process, keyed by path and invalidated by mtime or size, so a model
 * that is resolved on every job is hashed once (a 90 MB DINOv2 takes ~0.3 s to hash).
 */
const verified = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

/** Lower-case hex sha256 of a file's bytes, streamed (never the whole file in memory). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `sha256File`, memoised per path + mtime + size. */
export async function cachedSha256(path: string): Promise<string> {
  const { mtimeMs, size } = await stat(path);
  const hit = verified.get(path);
  if (hit && hit.mtimeMs === mtimeMs && hit.size === size) return hit.sha256;
  const sha256 = await sha256File(path);
  verified.set(path, { mtimeMs, size, sha256 });
  return sha256;
}

/** Whether `sha256` is a 64-digit hex checksum (case-insensitive). */
export function isSha256(sha256: string): boolean {
  return /^[0-9a-f]{64}$/i.test(sha256);
}
