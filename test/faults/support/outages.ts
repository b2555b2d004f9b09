/**
 * Services a fault test can take down and bring back: a redis-server with an append-only file (fsync always), so a
 * stop and restart loses nothing, as a production Redis with persistence restarting or failing over; and an s3rver
 * whose folder survives a stop. Both come back on the same port. `stop()` / `start()` are the outage; `close()`
 * ends everything and removes the folders.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newS3rver, redisServerArgs } from '@streamedit/farm';
import { freePort, ping } from '../../support/services';

export interface RestartableService {
  readonly port: number;
  /** Ends the service (connections are refused until `start()`); resolves once it is down. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  close(): Promise<void>;
}

export interface RestartableRedis extends RestartableService {
  readonly url: string;
  /** Freezes redis-server (SIGSTOP): connections stay open, nothing is answered, until `resume()` (SIGCONT). */
  pause(): void;
  resume(): void;
}

export interface RestartableS3 extends RestartableService {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** redis-server with AOF (`appendfsync always`) on a free port. */
export async function startRestartableRedis(): Promise<RestartableRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'streamedit-faults-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', redisServerArgs(port, dir, true), { stdio: 'ignore' });
    for (let i = 0; i < 200 && !(await ping(port)); i++) await sleep(50);
    if (!(await ping(port))) throw new Error(`redis-server did not answer on port ${port}`);
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM'); // Redis flushes its AOF and exits
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** s3rver on a free port with one bucket; its folder (the objects) survives `stop()`. */
export async function startRestartableS3(bucket = 'streamedit-faults'): Promise<RestartableS3> {
  const dir = await mkdtemp(join(tmpdir(), 'streamedit-faults-s3-'));
  const port = await freePort();
  let server: { close(): Promise<void> } | undefined;
  const start = async () => {
    const s = newS3rver(dir, bucket, port);
    await s.run();
    server = s;
  };
  const stop = async () => {
    await server?.close();
    server = undefined;
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    port,
    stop,
    start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One timed HTTP call: status, milliseconds, and the Retry-After header. */
export interface Probe {
  readonly what: string;
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: string | null;
}

/** Calls `fetch` and times it; a network error counts as status 0. */
export async function probe(what: string, url: string, init: RequestInit = {}): Promise<Probe> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    return { what, status: res.status, ms: performance.now() - started, retryAfter: res.headers.get('retry-after') };
  } catch {
    return { what, status: 0, ms: performance.now() - started, retryAfter: null };
  }
}
