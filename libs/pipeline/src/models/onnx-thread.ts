import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError, ToolError } from '../errors';
import type { ort } from './onnx';

/** What the worker is started with. */
export interface ThreadStart {
  readonly path: string;
  readonly threads?: number;
}

export type ThreadRequest =
  | {
      readonly kind: 'run';
      readonly id: number;
      readonly feeds: Record<string, { data: Float32Array; dims: number[] }>;
    }
  | { readonly kind: 'release'; readonly id: number };

export type ThreadReply =
  | { readonly kind: 'result'; readonly id: number; readonly outputs: Record<string, Float32Array> }
  | { readonly kind: 'released'; readonly id: number }
  | { readonly kind: 'error'; readonly id: number; readonly message: string; readonly input: boolean };

type Ready =
  | {
      readonly kind: 'ready';
      readonly inputNames: string[];
      readonly inputMetadata: ort.InferenceSession.ValueMetadata[];
    }
  | { readonly kind: 'failed'; readonly message: string; readonly input: boolean };

/** Compiled worker entry beside this file (the library always runs from dist/). */
const WORKER_FILE = join(__dirname, 'onnx-worker.js');

interface Pending {
  resolve(reply: ThreadReply): void;
  reject(err: Error): void;
}

/**
 * An ONNX Runtime session in its own worker thread. onnxruntime-node runs inference synchronously on the calling
 * thread, so a model in the main thread holds the event loop for the whole forward (~250 ms for the cpu model at
 * 512²): a live session could neither take the landmark page's reply nor accept frames meanwhile. Inputs are copied
 * to the worker, outputs moved back.
 */
export class ThreadedOrtSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure?: Error;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[],
  ) {
    // Unreferenced while idle, so a forgotten session never keeps the process alive.
    worker.unref();
    worker.on('message', (reply: ThreadReply) => this.settle(reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new ToolError(`the ONNX Runtime worker exited (code ${code}).`)));
  }

  /** Starts the worker and opens `path` in it (`createOrtSession`: the project's provider and threads). */
  static async open(path: string, threads?: number): Promise<ThreadedOrtSession> {
    const worker = new Worker(WORKER_FILE, { workerData: { path, threads } satisfies ThreadStart });
    const ready = await new Promise<Ready>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    if (ready.kind === 'failed') {
      await worker.terminate();
      throw workerError(ready, `ONNX Runtime could not open ${path}`);
    }
    return new ThreadedOrtSession(worker, ready.inputNames, ready.inputMetadata);
  }

  /** Runs the graph on float32 feeds; resolves with every output's data (the caller's to keep). */
  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
    const plain: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const [name, t] of Object.entries(feeds)) plain[name] = { data: t.data as Float32Array, dims: [...t.dims] };
    const reply = await this.request({ kind: 'run', id: this.nextId++, feeds: plain });
    if (reply.kind !== 'result') throw new ToolError('the ONNX Runtime worker answered out of turn.');
    return reply.outputs;
  }

  async release(): Promise<void> {
    if (!this.failure) await this.request({ kind: 'release', id: this.nextId++ }).catch(() => undefined);
    this.failure ??= new ToolError('the ONNX Runtime session was released.');
    await this.worker.terminate();
  }

  private request(msg: ThreadRequest): Promise<ThreadReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<ThreadReply>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  private settle(reply: ThreadReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'error') p.reject(workerError(reply, 'ONNX Runtime failed'));
    else p.resolve(reply);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** A failure the worker reported: bad input stays an `InputError`, anything else is a `ToolError` after `what`. */
function workerError(r: { readonly message: string; readonly input: boolean }, what: string): Error {
  return r.input ? new InputError(r.message) : new ToolError(`${what}: ${r.message}`);
}
