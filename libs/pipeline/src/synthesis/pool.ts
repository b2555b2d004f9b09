import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { logger } from '../log';
import { runChunks, type KernelTask, type LevelBuffers } from './kernel';

/** Compiled worker entry beside this file (dist/); absent when running from TypeScript sources. */
const WORKER_FILE = join(__dirname, 'worker.js');

type Pending = { resolve: () => void; reject: (err: Error) => void };

/**
 * Worker threads kept for the process (starting one costs tens of milliseconds, a frame's synthesis a few
 * hundred): they are unref'd while idle so they never keep the process alive, and ref'd while a task is out.
 */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Serialises synthesis calls: a level's buffers are per-worker state. */
  private queue: Promise<unknown> = Promise.resolve();

  get available(): boolean {
    return existsSync(WORKER_FILE);
  }

  /** Runs `fn` with exclusive use of `n` workers. */
  async exclusive<T>(n: number, fn: (workers: readonly Worker[]) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      while (this.workers.length < n) this.workers.push(this.spawn());
      return fn(this.workers.slice(0, n));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  send(worker: Worker, task: KernelTask, counter: Int32Array): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, task, counter });
    });
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const w = new Worker(WORKER_FILE);
    w.unref();
    w.on('message', (msg: { id: number; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`synthesis worker failed: ${msg.error}`));
      else p.resolve();
    });
    w.on('error', (err) => {
      // A crashed worker fails everything outstanding and leaves the pool; a later call starts a fresh one.
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      const i = this.workers.indexOf(w);
      if (i >= 0) this.workers.splice(i, 1);
    });
    return w;
  }
}

const pool = new WorkerPool();

/** Stops the synthesis worker threads (they are idle-unref'd anyway; for tests and clean shutdowns). */
export function closeSynthesisWorkers(): Promise<void> {
  return pool.close();
}

/**
 * Runs each kernel task on `threads` threads at once: the calling thread and the workers take chunks of it
 * from one shared counter, on the same shared buffers.
 */
export interface BandRunner {
  readonly threads: number;
  setLevel(level: LevelBuffers): void;
  run(task: KernelTask): Promise<void>;
}

/** Runs `fn` with a runner of `threads` threads (1 = everything on the calling thread). */
export async function withBandRunner<T>(threads: number, fn: (runner: BandRunner) => Promise<T>): Promise<T> {
  if (threads > 1 && !pool.available) {
    logger('synthesis').warn({ file: WORKER_FILE }, 'compiled worker not found; synthesising on one thread');
    threads = 1;
  }
  if (threads <= 1) return fn(inlineRunner());
  return pool.exclusive(threads - 1, async (workers) => {
    for (const w of workers) w.ref();
    try {
      return await fn(threadedRunner(workers));
    } finally {
      for (const w of workers) w.unref();
    }
  });
}

function inlineRunner(): BandRunner {
  let level: LevelBuffers | undefined;
  const counter = new Int32Array(1);
  return {
    threads: 1,
    setLevel: (b) => (level = b),
    run: async (task) => {
      counter[0] = 0;
      runChunks(level!, task, counter);
    },
  };
}

function threadedRunner(workers: readonly Worker[]): BandRunner {
  let level: LevelBuffers | undefined;
  const counter = new Int32Array(new SharedArrayBuffer(4));
  return {
    threads: workers.length + 1,
    setLevel: (b) => {
      level = b;
      for (const w of workers) w.postMessage({ level: b });
    },
    run: async (task) => {
      Atomics.store(counter, 0, 0); // before the posts, so every worker sees the reset
      const out = workers.map((w) => pool.send(w, task, counter));
      runChunks(level!, task, counter);
      await Promise.all(out);
    },
  };
}
