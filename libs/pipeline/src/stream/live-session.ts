import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ARR, type ArrOptions } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { CorrespondenceModel } from '../correspondence/model';
import type { EditSpec } from '../edit/edit-spec';
import { InputError } from '../errors';
import type { Backbone } from '../features/backbone';
import { createBackbone } from '../features/create-backbone';
import type { RgbFrame } from '../image/frame';
import { ChromiumLandmarkDetector } from '../landmarks/chromium-detector';
import type { LandmarkDetector } from '../landmarks/face-observation';
import { logger } from '../log';
import { settings } from '../settings';
import type { Fps } from '../media/ffmpeg-commands';
import { ModelStore } from '../models/model-store';
import { noProgress, type ProgressListener } from '../progress';
import {
  DEFAULT_PROPAGATION,
  editedReferenceFor,
  editWeights,
  renderPropagatedFrame,
  type EditedReference,
  type PropagationOptions,
} from '../job/propagate';
import type { NearestNeighbourField } from '../synthesis/types';
import { AnalysisPacer } from './analysis-pacer';
import { BoundedQueue, QueueClosedError, type BackpressurePolicy } from './bounded-queue';
import { LatencyWindow, type LatencySummary } from './latency';
import { liveCorrespondence, liveReference, type LiveReference } from './live-correspondence';
import { cachedLiveFrame, LiveAnalyzer, type LiveFrame } from './live-frame';
import {
  loadStartReference,
  openAnalysis,
  readEditedReference,
  readFittedEdit,
  type FittedEdit,
  type StartReference,
} from './live-source';
import { OnlineArr } from '../arr/online-arr';
import { checkWarmUpEdit, warmUpFit } from './warmup';

const log = logger('live');

/** Options of every live session (defaults in brackets). */
export interface LiveSessionOptions {
  /** τ, synthesis and edit region, as offline [`DEFAULT_PROPAGATION`]. */
  readonly propagation?: Partial<PropagationOptions>;
  /** Online ARR: threshold, maximum window, references per 100 frames [`DEFAULT_ARR`]; `false`: never replace. */
  readonly arr?: ArrOptions | false;
  /** Frames waiting to be edited at most [8]. */
  readonly queueCapacity?: number;
  /** What a full input queue does [`block`; use `drop-oldest` for live sources such as sockets]. */
  readonly policy?: BackpressurePolicy;
  /** Edited frames waiting for the consumer at most; when full, editing pauses (and input backs up) [8]. */
  readonly outputCapacity?: number;
  /** Intra-op threads of the correspondence model, which runs in its own worker thread [{@link liveModelThreads}]. */
  readonly modelThreads?: number;
  /** A landmark detector to use (the caller closes it) [a Chromium detector owned by the session]. */
  readonly detector?: LandmarkDetector;
  readonly store?: ModelStore;
  /** Warm-up analysis and fit progress [none]. */
  readonly onProgress?: ProgressListener;
}

/** Mode (a): a finished edit's work dir. */
export interface FromWorkDirOptions extends LiveSessionOptions {
  /** Which fitted window's edited reference to start from [0: the user's keyframe]. */
  readonly window?: number;
  /**
   * The stream is the analysed video from its first frame (stream frame i = analysed frame i): frames that are
   * references there come out as their edits, user keyframes force their reference again [false].
   */
  readonly sameVideo?: boolean;
  /** Remove the work dir when the session closes (a downloaded copy) [false]. */
  readonly disposeWorkDir?: boolean;
}

/** Mode (b): fit on the first frames of the stream. */
export interface WarmUpOptions extends LiveSessionOptions {
  /** Frames buffered and fitted on before editing starts (≥ 2). */
  readonly frames: number;
  /** The edit; keyframe indices are stream frame indices below `frames`. */
  readonly edit: EditSpec;
  /** Trainer preset [`tiny`]. */
  readonly preset?: CorrespondencePreset;
  readonly maxIterations?: number;
  /** Keep the warm-up's analysis, model and edited references here — a work dir `fromWorkDir` can start from [a temp dir removed at close]. */
  readonly workDir?: string;
  /** Frame rate recorded with the warm-up frames [25]. */
  readonly fps?: Fps;
}

/** Events of a live session (also the JSON messages of the stream API). */
export type LiveEvent =
  | {
      readonly type: 'ready';
      readonly width: number;
      readonly height: number;
      readonly warmup?: { readonly frames: number; readonly iterations: number; readonly ms: number };
    }
  | {
      readonly type: 'reference-replaced';
      /** The stream frame that became the reference. */
      readonly frame: number;
      /** Its uncertainty score against the previous reference (0 for a user keyframe). */
      readonly score: number;
      readonly cause: 'uncertainty' | 'max-length' | 'keyframe';
      /** The previous reference's stream frame, null when it was a frame of the fitted video. */
      readonly previous: number | null;
    }
  | { readonly type: 'dropped'; readonly frame: number; readonly dropped: number }
  | { readonly type: 'error'; readonly message: string; readonly badInput: boolean };

/** One edited frame; frames come out in input order, `index` being the input frame's. */
export interface EditedLiveFrame {
  readonly index: number;
  readonly image: RgbFrame;
  /** The frame became (or is) the reference and `image` is its edit. */
  readonly isReference: boolean;
  /** Uncertainty score against its reference (0 for references). */
  readonly score: number;
  /** Fraction of pixels re-synthesised. */
  readonly synthesized: number;
  /** The stream frame it was propagated from; null for a frame of the fitted video. */
  readonly referenceFrame: number | null;
  /** From `push` to the edited frame being ready. */
  readonly latencyMs: number;
  /** Where the time went: landmarks + features (concurrently), the correspondence model, warp/synthesis/composite. */
  readonly timingsMs: { readonly analyze: number; readonly model: number; readonly render: number };
}

/** Counters and latencies of a session. */
export interface LiveStats {
  readonly state: 'warming-up' | 'editing' | 'ended' | 'failed' | 'closed';
  readonly received: number;
  readonly edited: number;
  readonly dropped: number;
  /** References made during the session (online ARR and user keyframes). */
  readonly references: number;
  /** Frames waiting in the input queue. */
  readonly queued: number;
  /** `push` → edited, over recent frames (warm-up frames, which wait for the fit, are not counted). */
  readonly latency: LatencySummary;
  /** Start of analysis → edited (the work per frame, without queueing). */
  readonly processing: LatencySummary;
}

interface Incoming {
  readonly index: number;
  readonly image: RgbFrame;
  readonly receivedAt: number;
}

/** The reference frames are propagated from, with its per-window state. */
interface CurrentReference {
  readonly live: LiveReference;
  readonly edited: EditedReference;
  readonly weights: Float32Array;
  /** Where it is in the stream; null for a frame of the fitted video. */
  readonly streamIndex: number | null;
  /** Stream frame its window starts at (for the maximum window length). */
  readonly since: number;
  prevNnf?: NearestNeighbourField;
}

/** What editing needs once the model is known. */
interface Engine {
  readonly model: CorrespondenceModel;
  readonly analyzer: LiveAnalyzer;
  readonly width: number;
  readonly height: number;
  /** User keyframes by stream index (force a reference with the user's edit). */
  readonly keyframes: ReadonlyMap<number, RgbFrame>;
  current: CurrentReference;
}

/** How a session gets its engine: at once (a work dir), or from the first frames (a warm-up). */
type EngineSource =
  | {
      readonly kind: 'fitted';
      readonly fitted: FittedEdit;
      readonly start: StartReference;
      readonly model: CorrespondenceModel;
      readonly keyframes: ReadonlyMap<number, RgbFrame>;
      readonly startIndex: number | null;
    }
  | { readonly kind: 'warm-up'; readonly options: WarmUpOptions; readonly workDir: string };

/**
 * A live editing session (the paper's "streamable" mode): once the correspondence model is fitted, each incoming
 * frame is edited without any finetuning — landmarks + person mask (one long-lived Chromium page), XFeat features,
 * the landmark-warp init flow to the current reference, the ONNX model, then the same per-frame render as offline
 * propagation (`renderPropagatedFrame`: warp of the edited reference, guided synthesis where σ > τ, composite).
 * Online ARR: a frame whose uncertainty score passes the threshold (budget allowing) becomes the new reference, its
 * edit carried over from the current one by `editedReferenceFor`.
 *
 * Frames go in with `push` (bounded queue, {@link BackpressurePolicy}), come out in order from `frames()`. The next
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
  private readonly arr?: OnlineArr;
  private readonly latency = new LatencyWindow();
  private readonly processing = new LatencyWindow();
  private readonly worker: Promise<void>;
  private readonly counts = { received: 0, edited: 0, dropped: 0, references: 0 };
  private state: LiveStats['state'];
  private size?: { width: number; height: number };
  private failure?: Error;
  private closing?: Promise<void>;
  private ready?: LiveEvent;
  private engine?: Engine;
  /** The loaded correspondence model (released by `close`). */
  private model?: CorrespondenceModel;

  private constructor(
    private readonly source: EngineSource,
    options: LiveSessionOptions,
    private readonly detector: LandmarkDetector,
    private readonly ownsDetector: boolean,
    private readonly backbone: Backbone,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.propagation = { ...DEFAULT_PROPAGATION, ...options.propagation };
    if (options.arr !== false) this.arr = new OnlineArr(options.arr ?? DEFAULT_ARR);
    this.input = new BoundedQueue(options.queueCapacity ?? 8, options.policy ?? 'block', (dropped) => {
      this.counts.dropped++;
      this.emit({ type: 'dropped', frame: dropped.index, dropped: this.counts.dropped });
    });
    this.output = new BoundedQueue(options.outputCapacity ?? 8, 'block');
    this.state = source.kind === 'warm-up' ? 'warming-up' : 'editing';
    if (source.kind === 'fitted') this.size = { width: source.fitted.width, height: source.fitted.height };
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
    const fitted = await readFittedEdit(workDir);
    const resources = await openResources(options);
    let model: CorrespondenceModel | undefined;
    try {
      model = await CorrespondenceModel.load(fitted.onnxPath, liveModelThreads(fitted.preset, options), true);
      const window = options.window ?? 0;
      const start = await loadStartReference(fitted, window, model.shape);
      const keyframes = options.sameVideo ? await userKeyframes(fitted) : new Map<number, RgbFrame>();
      const startIndex = options.sameVideo ? fitted.windows[window]!.reference : null;
      const cleanup = async () => {
        if (options.disposeWorkDir) await rm(workDir, { recursive: true, force: true });
      };
      return new LiveEditSession(
        { kind: 'fitted', fitted, start, model, keyframes, startIndex },
        options,
        resources.detector,
        resources.ownsDetector,
        resources.backbone,
        cleanup,
      );
    } catch (err) {
      await model?.release();
      await resources.release();
      throw err;
    }
  }

  /**
   * Mode (b): buffers the first `options.frames` frames, analyses them and fits the model on them (preset
   * `tiny` by default), then edits: the buffered frames first, then every later frame live. Frames pushed during
   * the fit wait in the input queue (or are dropped, with `drop-oldest`).
   */
  static async warmUp(options: WarmUpOptions): Promise<LiveEditSession> {
    if (!Number.isInteger(options.frames) || options.frames < 2)
      throw new InputError(`The warm-up needs at least 2 frames, got ${options.frames}.`);
    checkWarmUpEdit(options.edit, options.frames);
    const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'streamedit-live-')));
    const resources = await openResources(options).catch(async (err: unknown) => {
      if (!options.workDir) await rm(workDir, { recursive: true, force: true });
      throw err;
    });
    const cleanup = async () => {
      if (!options.workDir) await rm(workDir, { recursive: true, force: true });
    };
    return new LiveEditSession(
      { kind: 'warm-up', options, workDir },
      options,
      resources.detector,
      resources.ownsDetector,
      resources.backbone,
      cleanup,
    );
  }

  /** Working size frames must have (known from the first frame of a warm-up). */
  get frameSize(): { width: number; height: number } | undefined {
    return this.size;
  }

  /**
   * Queues a frame (working size, RGB); resolves with its index once queued (with `block`, when there is room).
   * @throws InputError for a frame of the wrong size, or after `end()`/`close()`; the session's failure if it failed.
   */
  async push(image: RgbFrame): Promise<number> {
    if (this.failure) throw this.failure;
    if (this.input.isClosed) throw new InputError('The live session takes no more frames: it was ended or closed.');
    if (image.data.length !== image.width * image.height * 3)
      throw new InputError(
        `Frame ${this.counts.received} is not ${image.width}×${image.height} RGB: send width × height × 3 bytes.`,
      );
    this.size ??= { width: image.width, height: image.height };
    if (image.width !== this.size.width || image.height !== this.size.height) {
      throw new InputError(
        `Frame ${this.counts.received} is ${image.width}×${image.height} but this session edits ${this.size.width}×${this.size.height} frames: send frames of that size.`,
      );
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
      await this.backbone.release().catch(() => undefined);
      if (this.ownsDetector) await this.detector.close().catch(() => undefined);
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
      if (this.source.kind === 'fitted') this.emit({ type: 'ready', width: engine.width, height: engine.height });
      await this.editLive(engine);
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
    const { model, start } = source;
    this.model = model;
    const analyzer = new LiveAnalyzer(this.detector, this.backbone, model.shape);
    const current = this.referenceFrom(model, start.frame, start.edited, source.startIndex, source.startIndex ?? 0);
    this.engine = {
      model,
      analyzer,
      width: source.fitted.width,
      height: source.fitted.height,
      keyframes: source.keyframes,
      current,
    };
    return this.engine;
  }

  /** Buffers the first frames, fits on them, then edits them (their analysis is the warm-up's). */
  private async warmUpEngine(source: Extract<EngineSource, { kind: 'warm-up' }>): Promise<Engine> {
    const { options, workDir } = source;
    const buffered: Incoming[] = [];
    while (buffered.length < options.frames) {
      const next = await this.input.shift();
      if (!next) break;
      buffered.push(next);
    }
    this.abort.signal.throwIfAborted();
    const t0 = performance.now();
    const warm = await warmUpFit(
      {
        frames: buffered.map((b) => b.image),
        edit: options.edit,
        preset: options.preset ?? 'tiny',
        maxIterations: options.maxIterations,
        workDir,
        detector: this.detector,
        backbone: this.backbone,
        fps: options.fps,
        tau: this.propagation.tau,
        signal: this.abort.signal,
      },
      options.onProgress ?? noProgress,
    );
    const model = await CorrespondenceModel.load(
      warm.fitted.onnxPath,
      liveModelThreads(warm.fitted.preset, options),
      true,
    );
    this.model = model;
    const analysis = await openAnalysis(workDir);
    try {
      const first = warm.fitted.windows[0]!.reference;
      const startFrame = await cachedLiveFrame(first, analysis, model.shape);
      const analyzer = new LiveAnalyzer(this.detector, this.backbone, model.shape);
      const current = this.referenceFrom(model, startFrame, warm.keyframes.get(first)!, first, first);
      const engine: Engine = {
        model,
        analyzer,
        width: warm.fitted.width,
        height: warm.fitted.height,
        keyframes: warm.keyframes,
        current,
      };
      this.engine = engine;
      this.state = 'editing';
      this.emit({
        type: 'ready',
        width: engine.width,
        height: engine.height,
        warmup: { frames: buffered.length, iterations: warm.iterations, ms: Math.round(performance.now() - t0) },
      });
      for (const item of buffered) {
        if (this.closing) break;
        const started = performance.now();
        const frame = await cachedLiveFrame(item.index, analysis, model.shape);
        await this.deliver(item, await this.editFrame(engine, frame, performance.now() - started), started, false);
      }
      return engine;
    } finally {
      await analysis.close();
    }
  }

  /**
   * The live loop: a pump analyses the next frame while this loop edits the current one, started by an
   * `AnalysisPacer` so that it is ready when the edit ends, not before.
   */
  private async editLive(engine: Engine): Promise<void> {
    const pacer = new AnalysisPacer();
    const analysed = new BoundedQueue<{
      item: Incoming;
      started: number;
      frame: Promise<{ frame: LiveFrame; ms: number }>;
    }>(1, 'block');
    const pump = (async () => {
      try {
        for (;;) {
          await pacer.turn();
          const item = await this.input.shift();
          if (item === undefined) break;
          const started = performance.now();
          const frame = engine.analyzer.analyze(item.index, item.image).then((f) => {
            const ms = performance.now() - started;
            pacer.analyzed(ms);
            return { frame: f, ms };
          });
          frame.catch(() => undefined); // awaited in order by the loop below
          await analysed.push({ item, started, frame });
        }
      } catch (err) {
        if (!(err instanceof QueueClosedError)) throw err;
      } finally {
        analysed.close();
      }
    })();
    try {
      for (let next = await analysed.shift(); next !== undefined; next = await analysed.shift()) {
        if (this.closing) break;
        const { frame, ms } = await next.frame;
        const editStart = performance.now();
        pacer.editStarted();
        const edited = await this.editFrame(engine, frame, ms);
        pacer.edited(performance.now() - editStart);
        await this.deliver(next.item, edited, next.started, true);
      }
    } catch (err) {
      // Recorded before the input closes, so a producer blocked in `push` is told why.
      if (!this.closing) this.failure ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      pacer.close();
      analysed.close(true);
      this.input.close(true);
      await pump;
    }
  }

  private async deliver(
    item: Incoming,
    frame: Omit<EditedLiveFrame, 'latencyMs' | 'index'>,
    started: number,
    timed: boolean,
  ): Promise<void> {
    const now = performance.now();
    const latencyMs = now - item.receivedAt;
    if (timed) {
      this.latency.add(latencyMs);
      this.processing.add(now - started);
    }
    this.counts.edited++;
    await this.output.push({ index: item.index, ...frame, latencyMs });
  }

  /** One frame: a forced or fitted reference comes out as its edit; others are propagated, or start a new window. */
  private async editFrame(
    engine: Engine,
    frame: LiveFrame,
    analyzeMs: number,
  ): Promise<Omit<EditedLiveFrame, 'latencyMs' | 'index'>> {
    const cur = engine.current;
    const given = engine.keyframes.get(frame.index);
    const asReference = (image: RgbFrame, score: number, modelMs = 0, renderMs = 0) => ({
      image,
      isReference: true,
      score,
      synthesized: 0,
      referenceFrame: frame.index,
      timingsMs: { analyze: analyzeMs, model: modelMs, render: renderMs },
    });
    if (given && cur.streamIndex !== frame.index) {
      this.replaceReference(engine, frame, given, { cause: 'keyframe', score: 0 });
      return asReference(given, 0);
    }
    if (cur.streamIndex === frame.index) return asReference(cur.edited.edited, 0);
    const { tau } = this.propagation;
    const t0 = performance.now();
    const { correspondence, score } = await liveCorrespondence(engine.model, cur.live, frame, tau);
    const t1 = performance.now();
    const decision = this.arr?.decide(frame.index, frame.index - cur.since, score);
    if (decision) {
      // The pair (current reference, this frame) is exactly what editedReferenceFor asks for: reuse its answer.
      const edited = await editedReferenceFor(
        cur.edited,
        { index: frame.index, original: frame.image },
        { between: async () => correspondence },
        tau,
      );
      this.arr!.accept(frame.index);
      this.replaceReference(engine, frame, edited, decision);
      return asReference(edited, score, t1 - t0, performance.now() - t1);
    }
    const rendered = await renderPropagatedFrame(
      { ref: cur.edited, current: frame.image, correspondence, weights: cur.weights, prevNnf: cur.prevNnf },
      this.propagation,
    );
    cur.prevNnf = rendered.nnf;
    const timingsMs = { analyze: analyzeMs, model: t1 - t0, render: performance.now() - t1 };
    return {
      image: rendered.image,
      isReference: false,
      score,
      synthesized: rendered.synthesized,
      referenceFrame: cur.streamIndex,
      timingsMs,
    };
  }

  private replaceReference(
    engine: Engine,
    frame: LiveFrame,
    edited: RgbFrame,
    why: { cause: 'uncertainty' | 'max-length' | 'keyframe'; score: number },
  ): void {
    const previous = engine.current.streamIndex;
    engine.current = this.referenceFrom(engine.model, frame, edited, frame.index, frame.index);
    this.counts.references++;
    this.emit({ type: 'reference-replaced', frame: frame.index, score: why.score, cause: why.cause, previous });
  }

  private referenceFrom(
    model: CorrespondenceModel,
    frame: LiveFrame,
    edited: RgbFrame,
    streamIndex: number | null,
    since: number,
  ): CurrentReference {
    return {
      live: liveReference(frame, model),
      edited: { index: streamIndex ?? -1, original: frame.image, edited },
      weights: editWeights(frame.image, edited, this.propagation.editRegion),
      streamIndex,
      since,
    };
  }
}

/**
 * The model's threads unless given: `STREAMEDIT_ORT_THREADS`, but 1 for the 64² `tiny` model. On 2 cores the cpu
 * model (512²) edits 4.3 frames/s with 2 threads against 3.3 with 1; the tiny one 15.6 with 1 against 13.3 with 2,
 * the pool's overhead outweighing its share of a 13 ms forward.
 */
export function liveModelThreads(preset: CorrespondencePreset, options: LiveSessionOptions): number {
  return options.modelThreads ?? (preset === 'tiny' ? 1 : settings().ortThreads);
}

/** The landmark detector (started now) and the backbone of a session. */
async function openResources(
  options: LiveSessionOptions,
): Promise<{ detector: LandmarkDetector; ownsDetector: boolean; backbone: Backbone; release(): Promise<void> }> {
  const store = options.store ?? new ModelStore();
  const ownsDetector = options.detector === undefined;
  const detector = options.detector ?? new ChromiumLandmarkDetector({ modelStore: store });
  try {
    if (detector instanceof ChromiumLandmarkDetector) await detector.warmUp();
    // One thread: a frame's features run beside the model's forward, and a multi-threaded ONNX Runtime pool spins
    // on the cores the model needs (cpu model at 512², 2 cores: 306 vs 351 ms per frame end to end).
    const backbone = await createBackbone(store, { threads: 1 });
    return {
      detector,
      ownsDetector,
      backbone,
      release: async () => {
        await backbone.release();
        if (ownsDetector) await detector.close();
      },
    };
  } catch (err) {
    if (ownsDetector) await detector.close();
    throw err;
  }
}

/** The user's keyframe edits of a fitted work dir by frame index (windows whose cause is `keyframe`). */
async function userKeyframes(fitted: FittedEdit): Promise<Map<number, RgbFrame>> {
  const out = new Map<number, RgbFrame>();
  for (const [i, w] of fitted.windows.entries())
    if (w.cause === 'keyframe') out.set(w.reference, await readEditedReference(fitted, i));
  return out;
}
