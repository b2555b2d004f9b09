import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** What a finished download produced. */
export interface Downloaded {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** A download that completed but whose bytes are not the expected ones (the file was deleted). */
export class ChecksumMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`sha256 ${actual} differs from the expected ${expected}`);
  }
}

/**
 * Streams `url` into `dest`: the body goes to a temp file beside `dest` (same directory, so the final rename is
 * atomic and a crash never leaves a half file under the real name), hashed while streaming, and is renamed into
 * place only when `expectedSha256` matches (or none is given). On any failure the temp file is removed.
 * Throws `ChecksumMismatch` on a checksum difference, another Error for HTTP / network / timeout failures.
 */
export async function downloadVerified(
  url: string,
  dest: string,
  expectedSha256: string | undefined,
  timeoutMs: number,
): Promise<Downloaded> {
  await mkdir(dirname(dest), { recursive: true });
  const temp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    const hash = createHash('sha256');
    let bytes = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      hashing,
      createWriteStream(temp, { flags: 'wx' }),
    );
    const sha256 = hash.digest('hex');
    if (expectedSha256 !== undefined && sha256 !== expectedSha256.toLowerCase())
      throw new ChecksumMismatch(expectedSha256.toLowerCase(), sha256);
    await rename(temp, dest);
    return { path: dest, sha256, bytes };
  } finally {
    await rm(temp, { force: true });
  }
}
