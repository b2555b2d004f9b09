/**
 * Real services for the farm on one machine (the tests, `streamedit bench farm`): a redis-server on a free port (no
 * persistence, `noeviction` like production, in a temp dir) and s3rver (an S3-compatible server, a dev dependency)
 * on 127.0.0.1 with a temp directory. Both are stopped and their folders removed by `stop()`, which whoever started
 * them calls when done (tests: from `after()`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startS3SigningGate } from './s3-signing-gate';

/** A running redis-server owned by its starter. */
export interface DevRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A running s3rver owned by its starter; `S3RVER`/`S3RVER` are its fixed credentials. */
export interface DevS3 {
  readonly endpoint: string;
  /** s3rver's own endpoint, without the signature check in front (tests show why the check is there). */
  readonly uncheckedEndpoint: string;
  /** s3rver's folder: objects, and the parts of multipart uploads (which no listing shows). */
  readonly directory: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * redis-server's arguments for a private instance on 127.0.0.1:`port` with its files in `dir` and BullMQ's
 * `noeviction`; `durable`: an append-only file synced at every write (survives a restart), else nothing on disk.
 */
export function redisServerArgs(port: number, dir: string, durable = false): string[] {
  const persistence = durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    ...persistence,
    '--maxmemory-policy',
    'noeviction',
    '--dir',
    dir,
  ];
}

/** An s3rver (not started) on 127.0.0.1:`port` (0: the OS picks) keeping its objects in `dir`, with one bucket. */
export function newS3rver(
  dir: string,
  bucket: string,
  port: number,
): { run(): Promise<unknown>; close(): Promise<void> } {
  // s3rver ships no types; this is the part of its API used here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
    run(): Promise<unknown>;
    close(): Promise<void>;
  };
  return new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
}

/** Starts redis-server on a free port; resolves once it answers PING. */
export async function startRedis(): Promise<DevRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'streamedit-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', redisServerArgs(port, dir), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPong(port, child);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`redis-server did not start: ${(err as Error).message} ${stderr}`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts s3rver on 127.0.0.1 (port chosen by the OS) with one empty bucket, behind the signature check of
 * `s3-signing-gate.ts` (s3rver itself checks no V4 signature: anonymous and tampered requests would pass).
 * DEVELOPMENT ONLY: production uses S3 or MinIO, which check signatures themselves.
 */
export async function startS3(bucket = 'streamedit-dev'): Promise<DevS3> {
  const dir = await mkdtemp(join(tmpdir(), 'streamedit-s3rver-'));
  const server = newS3rver(dir, bucket, 0);
  const { port } = (await server.run()) as { port: number };
  const unchecked = `http://127.0.0.1:${port}`;
  const gate = await startS3SigningGate({ upstream: unchecked, credentials: { S3RVER: 'S3RVER' } });
  return {
    endpoint: gate.endpoint,
    uncheckedEndpoint: unchecked,
    directory: dir,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: async () => {
      await gate.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPong(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await pingRedis(port)) return;
    await sleep(50);
  }
  throw new Error('no PONG within 10 s');
}

/** Sends one inline PING; true when the answer is +PONG. */
export function pingRedis(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The farm settings (as environment variables) that point a process at a dev Redis and S3 server. */
export function farmEnv(
  redis: DevRedis,
  s3: Pick<DevS3, 'endpoint' | 'bucket' | 'accessKeyId' | 'secretAccessKey'>,
): Record<string, string> {
  return {
    REDIS_URL: redis.url,
    FARM_STORAGE: 's3',
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}
