import { OnlineArr } from '../arr/online-arr';
import { DEFAULT_ARR } from '../arr/reference-windows';
import { CorrespondenceModel } from '../correspondence/model';
import { InputError } from '../errors';
import type { RgbFrame } from '../image/frame';
import { logger } from '../log';
import { oversizeProblem } from '../media/source-limit';
import { workingSize } from '../media/video-info';
import { DEFAULT_PROPAGATION, type PropagationOptions } from '../job/propagate';
import { BoundedQueue, QueueClosedError } from './bounded-queue';
import { LatencyWindow } from './latency';
import { LiveFrameEditor, type EditedFrame } from './live-editor';
import { fitWarmUpEngine, fittedEngine, type Engine, type EngineSource } from './live-engine';
import { startFitted, startWarmUp, type SessionStart } from './live-start';
import { cachedLiveFrame } from './live-frame';
import { editLive } from './live-loop';
import type {
  EditedLiveFrame,
  FromWorkDirOptions,
  Incoming,
  LiveEvent,
  LiveSessionOptions,
  LiveStats,
  WarmUpOptions,
} from './live-types';

// The session and its delivery; building the engine is live-engine.ts, one frame's edit live-editor.ts, the
// analyse-while-editing loop live-loop.ts. The public shapes are in live-types.ts, re-exported here.
export type {
  EditedLiveFrame,
  FromWorkDirOptions,
  LiveEvent,
  LiveSessionOptions,
  LiveStats,
  WarmUpOptions,
} from './live-types';
export { liveModelThreads } from './live-engine';

const log = logger('live');

/**
 * A live editing session (the paper's "streamable" mode): once the correspondence model is fitted, each incoming
 * frame is edited without any finetuning — landmarks + person mask (one long-lived Chromium page), XFeat features,
 * the landmark-warp init flow to the current reference, the ONNX model, then the same per-frame render as offline
 * propagation (`renderPropagatedFrame`: warp of the edited reference, guided synthesis where σ > τ, composite).
 * Online ARR: a frame whose uncertainty score passes the threshold (budget allowing) becomes the new reference, its
 * edit carried over from the current one by `editedReferenceFor`.
 *
 * Frames go in with `push` (bounded queue, `BackpressurePolicy`), come out in order from `frames()`. The next
 * frame is analysed while the current one renders. `end()` finishes after the queued frames; `close()` stops now
 * and releases everything (browser, ONNX sessions, temp files).
 */
export class LiveEditSession {
  private static readonly live = new Set<LiveEditSession>();
  private readonly input: BoundedQueue<Incoming>;
  private readonly output: BoundedQueue<EditedLiveFrame>;
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private readonly abort = new AbortController();
  private readonly propagation: PropagationOptions;
  private readonly editor: LiveFrameEditor;
  private readonly latency = new LatencyWindow();
  private readonly processing = new LatencyWindow();
  private readonly worker: Promise<void>;
  private readonly counts = { received: 0, edited: 0, dropped: 0, references: 0 };
  private state: LiveStats['state'];
  /** The size of this session's frames, in and out (fixed by the first frame). */
  private size?: { width: number; height: number };
  /** The sizes a first frame may have (a fitted session: its working size and, when known, its source size). */
  private sizes?: ReadonlyArray<{ width: number; height: number }>;
  /** The working size (a warm-up's: from its first frame and `maxSide`). */
  private working?: { width: number; height: number };
  private failure?: Error;
  private closing?: Promise<void>;
  private ready?: LiveEvent;
  /** The loaded correspondence model (released by `close`). */
  private model?: CorrespondenceModel;
  private readonly source: EngineSource;
  /** The landmark detector and backbone (released by `close`). */
  private readonly resources: SessionStart['resources'];
  private readonly cleanup: () => Promise<void>;

  private constructor(start: SessionStart, options: LiveSessionOptions) {
    const { source } = start;
    this.source = source;
    this.resources = start.resources;
    this.cleanup = start.cleanup;
    this.propagation = { ...DEFAULT_PROPAGATION, ...options.propagation };
    const arr = options.arr === false ? undefined : new OnlineArr(options.arr ?? DEFAULT_ARR);
    this.editor = new LiveFrameEditor(this.propagation, arr, (event) => {
      this.counts.references++;
      this.emit(event);
    });
    this.input = new BoundedQueue(options.queueCapacity ?? 8, options.policy ?? 'block', (dropped) => {
      this.counts.dropped++;
      this.emit({ type: 'dropped', frame: dropped.index, dropped: this.counts.dropped });
    });
    this.output = new BoundedQueue(options.outputCapacity ?? 8, 'block');
    this.state = source.kind === 'warm-up' ? 'warming-up' : 'editing';
    if (source.kind === 'fitted') {
      this.working = { width: source.fitted.width, height: source.fitted.height };
      this.sizes = source.fitted.source ? [this.working, source.fitted.source] : [this.working];
    }
    LiveEditSession.live.add(this);
    this.worker = this.run();
  }

  /** Sessions not yet closed in this process (a leak check for servers and tests). */
  static get openSessions(): number {
    return LiveEditSession.live.size;
  }

  /**
   * Mode (a): edits with the model and edited references of a finished edit's work dir (`streamedit edit
   * --work-dir DIR`: frames/, landmarks/, features/, model/fit.json + model.onnx, edits/ref-<window>.png). Starts the
   * landmark browser now, so the first frame does not pay for it.
   */
  static async fromWorkDir(workDir: string, options: FromWorkDirOptions = {}): Promise<LiveEditSession> {
    return new LiveEditSession(await startFitted(workDir, options), options);
  }

  /**
   * Mode (b): buffers the first `options.frames` frames, analyses them and fits the model on them (preset
   * `tiny` by default), then edits: the buffered frames first, then every later frame live. Frames pushed during
   * the fit wait in the input queue (or are dropped, with `drop-oldest`).
   */
  static async warmUp(options: WarmUpOptions): Promise<LiveEditSession> {
    return new LiveEditSession(await startWarmUp(options), options);
  }

  /**
   * The size frames are taken and delivered at: the first frame's, or before it, the source size of a fitted work dir
   * (its working size when it has no source-size edits); unknown until a warm-up's first frame.
   */
  get frameSize(): { width: number; height: number } | undefined {
    return this.size ?? this.sizes?.at(-1);
  }

  /** The working size the correspondence runs at (frames are downscaled to it for the analysis only). */
  get workingSize(): { width: number; height: number } | undefined {
    return this.working;
  }

  /**
   * Why the next frame cannot be `width`×`height` (the message `push` throws, naming the frame `label`), or undefined
   * when it can.
   */
  sizeProblem(width: number, height: number, label = `Frame ${this.counts.received}`): string | undefined {
    const oversize = oversizeProblem(label, { width, height }); // a JPEG frame can be huge yet fit a message
    if (oversize) return oversize;
    if (this.size) {
      if (width === this.size.width && height === this.size.height) return undefined;
      return `${label} is ${width}×${height} but this session edits ${this.size.width}×${this.size.height} frames: send frames of that size.`;
    }
    if (!this.sizes || this.sizes.some((s) => s.width === width && s.height === height)) return undefined;
    const [w, s] = this.sizes;
    const also = s ? ` or ${s.width}×${s.height} (the source size)` : '';
    return `${label} is ${width}×${height} but this session edits ${w!.width}×${w!.height} (its working size)${also} frames: send frames of ${s ? 'one of those sizes' : 'that size'}.`;
  }

  /**
   * Queues a frame (RGB; the source size — a fitted session also takes its working size — and every frame the size
   * of the first); resolves with its index once queued (with `block`, when there is room). Frames come out at their
   * size; the analysis runs on a copy downscaled to the working size.
   * @throws InputError for a frame of the wrong size, or after `end()`/`close()`; the session's failure if it failed.
   */
  async push(image: RgbFrame): Promise<number> {
    if (this.failure) throw this.failure;
    if (this.input.isClosed) throw new InputError('The live session takes no more frames: it was ended or closed.');
    if (image.data.length !== image.width * image.height * 3)
      throw new InputError(
        `Frame ${this.counts.received} is not ${image.width}×${image.height} RGB: send width × height × 3 bytes.`,
      );
    const problem = this.sizeProblem(image.width, image.height);
    if (problem) throw new InputError(problem);
    if (!this.size) {
      this.size = { width: image.width, height: image.height };
      if (this.source.kind === 'warm-up')
        this.working = workingSize({ ...this.size, rotation: 0 }, this.source.options.maxSide);
    }
    const index = this.counts.received++;
    try {
      await this.input.push({ index, image, receivedAt: performance.now() });
    } catch (err) {
      if (err instanceof QueueClosedError)
        throw this.failure ?? new InputError(`The live session was closed before frame ${index} could be edited.`);
      throw err;
    }
    return index;
  }

  /** No more frames: the queued ones are still edited, then `frames()` ends. */
  end(): void {
    this.input.close();
  }

  /** The edited frames, in input order; ends after `end()` (or `close()`), throws if the session failed. */
  async *frames(): AsyncGenerator<EditedLiveFrame> {
    for (let f = await this.output.shift(); f !== undefined; f = await this.output.shift()) yield f;
    if (this.failure) throw this.failure;
  }

  /** Subscribes to events (one added after the session became ready gets `ready` at once); returns the unsubscribe function. */
  on(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.ready) listener(this.ready);
    return () => this.listeners.delete(listener);
  }

  stats(): LiveStats {
    return {
      state: this.state,
      ...this.counts,
      queued: this.input.size,
      latency: this.latency.summary(),
      processing: this.processing.summary(),
    };
  }

  /** Settles when the session has stopped editing (ended, failed or closed). */
  get finished(): Promise<void> {
    return this.worker;
  }

  /** Stops now (queued frames are dropped, a running warm-up fit is killed) and releases everything; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      this.input.close(true);
      this.output.close(true);
      await this.worker;
      await this.model?.release().catch(() => undefined);
      await this.resources.backbone.release().catch(() => undefined);
      if (this.resources.ownsDetector) await this.resources.detector.close().catch(() => undefined);
      await this.cleanup().catch((err: unknown) => log.warn({ err }, 'live session cleanup failed'));
      if (this.state !== 'failed') this.state = 'closed';
      LiveEditSession.live.delete(this);
    })();
    return this.closing;
  }

  private emit(event: LiveEvent): void {
    if (event.type === 'ready') this.ready = event;
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        log.warn({ err }, 'a live event listener threw');
      }
    }
  }

  private async run(): Promise<void> {
    try {
      const engine =
        this.source.kind === 'fitted' ? this.fittedEngine(this.source) : await this.warmUpEngine(this.source);
      if (this.source.kind === 'fitted') this.emit({ type: 'ready', ...this.readySizes(engine) });
      await editLive(engine, {
        input: this.input,
        edit: (e, frame, ms) => this.editor.edit(e, frame, ms),
        deliver: (item, frame, started, timed) => this.deliver(item, frame, started, timed),
        closing: () => this.closing !== undefined,
        failed: (err) => (this.failure ??= err),
      });
      if (!this.closing) this.state = 'ended';
    } catch (err) {
      if (this.closing && (err instanceof QueueClosedError || this.abort.signal.aborted)) return;
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      this.state = 'failed';
      log.warn({ err: this.failure.message }, 'live session failed');
      this.emit({ type: 'error', message: this.failure.message, badInput: err instanceof InputError });
      this.input.close(true);
    } finally {
      this.output.close();
    }
  }

  private fittedEngine(source: Extract<EngineSource, { kind: 'fitted' }>): Engine {
    this.model = source.model;
    return fittedEngine(source, this.resources, this.propagation);
  }

  /** Buffers the first frames, fits on them, then edits them (their analysis is the warm-up's). */
  private async warmUpEngine(source: Extract<EngineSource, { kind: 'warm-up' }>): Promise<Engine> {
    const buffered: Incoming[] = [];
    while (buffered.length < source.options.frames) {
      const next = await this.input.shift();
      if (!next) break;
      buffered.push(next);
    }
    this.abort.signal.throwIfAborted();
    const t0 = performance.now();
    const images = buffered.map((b) => b.image);
    const warm = await fitWarmUpEngine(source, images, this.resources, this.propagation, this.abort.signal, (model) => {
      this.model = model;
    });
    const { engine, analysis } = warm;
    try {
      this.state = 'editing';
      this.emit({
        type: 'ready',
        ...this.readySizes(engine),
        warmup: { frames: buffered.length, iterations: warm.iterations, ms: Math.round(performance.now() - t0) },
      });
      for (const item of buffered) {
        if (this.closing) break;
        const started = performance.now();
        const frame = await cachedLiveFrame(item.index, analysis, engine.model.shape, item.index, item.image);
        const edited = await this.editor.edit(engine, frame, performance.now() - started);
        await this.deliver(item, edited, started, false);
      }
      return engine;
    } finally {
      await analysis.close();
    }
  }

  /** The `ready` event's sizes: frames in and out (the source size until a frame says otherwise), the working size. */
  private readySizes(engine: Engine): { width: number; height: number; working: { width: number; height: number } } {
    const working = { width: engine.width, height: engine.height };
    return { ...(this.frameSize ?? working), working };
  }

  private async deliver(item: Incoming, frame: EditedFrame, started: number, timed: boolean): Promise<void> {
    const now = performance.now();
    const latencyMs = now - item.receivedAt;
    if (timed) {
      this.latency.add(latencyMs);
      this.processing.add(now - started);
    }
    this.counts.edited++;
    await this.output.push({ index: item.index, ...frame, latencyMs });
  }
}
