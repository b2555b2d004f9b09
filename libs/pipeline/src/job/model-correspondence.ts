import { modelSizePersonMask, uncertainFraction } from '../arr/uncertainty-score';
import { CorrespondenceModel } from '../correspondence/model';
import { frameToModelInput, toWorkingSize } from '../correspondence/inputs';
import type { FloatImage } from '../image/frame';
import { FeatureCache } from '../features/feature-cache';
import type { LandmarkWarp } from '../landmarks/landmark-warp';
import { LandmarkTrack } from '../landmarks/landmark-track';
import { faceShapeOf, type FaceShape } from '../landmarks/face-shape';
import { FrameStore } from '../media/frame-store';
import type { Correspondence, CorrespondenceSource } from './propagate';
import { initFlowFor } from './training-data';
import { workLayout } from './work-dir';

/** A correspondence with the current frame's uncertainty score (the ARR statistic). */
export interface ScoredCorrespondence {
  readonly correspondence: Correspondence;
  readonly score: number;
}

/** Options of {@link ModelCorrespondence.open} (defaults in brackets). */
export interface ModelCorrespondenceOptions {
  /**
   * Run the model in its own worker thread [false]: `prefetch` then overlaps the next frame's forward with the
   * render of the current one (the render's JavaScript runs on one core; the forward's ~0.4 s a frame at 512² was
   * spent on the same thread, in series with it). Same threads, same results.
   */
  readonly inWorker?: boolean;
}

/** Pairs started ahead and not yet asked for, at most (one frame ahead is all the render needs). */
const AHEAD = 4;

/**
 * The trained model as a `CorrespondenceSource` over one analysed video: gathers the pair's inputs (frames at model
 * size, cached backbone features, the landmark warp), runs the ONNX graph, lifts flow and σ to working size.
 * Model-size inputs of recent frames are memoised (a window's reference is asked for on every frame).
 */
export class ModelCorrespondence implements CorrespondenceSource {
  private readonly imageCache = new Map<number, Float32Array>();
  private readonly warps = new Map<number, LandmarkWarp>();
  private readonly ahead = new Map<string, Promise<[FloatImage, FloatImage]>>();

  private constructor(
    readonly model: CorrespondenceModel,
    readonly frames: FrameStore,
    private readonly features: FeatureCache,
    private readonly track: LandmarkTrack,
    private readonly inWorker: boolean,
  ) {}

  static async open(
    workDir: string,
    onnxPath: string,
    options: ModelCorrespondenceOptions = {},
  ): Promise<ModelCorrespondence> {
    const dirs = workLayout(workDir);
    const inWorker = options.inWorker ?? false;
    const [model, frames, features, track] = await Promise.all([
      CorrespondenceModel.load(onnxPath, undefined, inWorker),
      FrameStore.open(dirs.frames),
      FeatureCache.open(dirs.features),
      LandmarkTrack.open(dirs.landmarks),
    ]);
    return new ModelCorrespondence(model, frames, features, track, inWorker);
  }

  /** Starts the pair's forward now when the model runs in a worker (in the main thread it would only block). */
  prefetch(ref: number, cur: number): void {
    const key = `${ref}:${cur}`;
    if (!this.inWorker || this.ahead.has(key)) return;
    const started = this.predictPair(ref, cur);
    started.catch(() => undefined); // a failure is thrown to whoever asks for the pair
    this.ahead.set(key, started);
    if (this.ahead.size > AHEAD) this.ahead.delete(this.ahead.keys().next().value!);
  }

  async between(ref: number, cur: number): Promise<Correspondence> {
    const [flow, sigma] = await this.pair(ref, cur);
    return { ...toWorkingSize(flow, sigma, this.frames.width, this.frames.height), face: this.faceAt(cur) };
  }

  /** Frame `cur`'s face shape at working size (the track's landmarks are at the frame store's size; scaled to be sure). */
  private faceAt(cur: number): FaceShape | undefined {
    return faceShapeOf(this.track.landmarksAt(cur), {
      x: this.frames.width / this.track.width,
      y: this.frames.height / this.track.height,
    });
  }

  /** `between`, and frame `cur`'s ARR score (`uncertainFraction` at model size, as live sessions score frames). */
  async scored(ref: number, cur: number, tau: number): Promise<ScoredCorrespondence> {
    const [flow, sigma] = await this.pair(ref, cur);
    const mask = modelSizePersonMask(await this.track.maskAt(cur), this.frames, this.model.shape);
    return {
      correspondence: { ...toWorkingSize(flow, sigma, this.frames.width, this.frames.height), face: this.faceAt(cur) },
      score: uncertainFraction(sigma, mask, tau),
    };
  }

  /** The pair's prediction: the one started by {@link prefetch}, or a new one. */
  private pair(ref: number, cur: number): Promise<[FloatImage, FloatImage]> {
    const key = `${ref}:${cur}`;
    const started = this.ahead.get(key);
    this.ahead.delete(key);
    return started ?? this.predictPair(ref, cur);
  }

  private async predictPair(ref: number, cur: number): Promise<[FloatImage, FloatImage]> {
    const { width, height } = this.model.shape;
    const [refImage, curImage, refFeat, curFeat] = await Promise.all([
      this.imageAt(ref),
      this.imageAt(cur),
      this.features.read(ref),
      this.features.read(cur),
    ]);
    const initFlow = initFlowFor(this.track, cur, ref, { width, height }, this.warps);
    const p = await this.model.predict({ refImage, curImage, refFeat: refFeat.data, curFeat: curFeat.data, initFlow });
    return [p.flow, p.sigma];
  }

  private async imageAt(i: number): Promise<Float32Array> {
    // Least recently used first in the Map's order: re-insert on every hit.
    const img =
      this.imageCache.get(i) ??
      frameToModelInput(await this.frames.read(i), this.model.shape.width, this.model.shape.height);
    this.imageCache.delete(i);
    this.imageCache.set(i, img);
    if (this.imageCache.size > 8) this.imageCache.delete(this.imageCache.keys().next().value!);
    return img;
  }

  async close(): Promise<void> {
    this.frames.close();
    await this.features.close();
    await this.model.release();
  }
}
