import type { ArrOptions } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import type { EditSpec } from '../edit/edit-spec';
import type { RgbFrame } from '../image/frame';
import type { LandmarkDetector } from '../landmarks/face-observation';
import type { Fps } from '../media/ffmpeg-commands';
import type { ModelStore } from '../models/model-store';
import type { ProgressListener } from '../progress';
import type { PropagationOptions } from '../job/propagate';
import type { BackpressurePolicy } from './bounded-queue';
import type { LatencySummary } from './latency';

// The public shapes of a live session (options, events, edited frames, stats) and the one internal record every
// part of it passes around (a frame as it came in), apart from the code that uses them.

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
  /** Longer side of the working size the frames are analysed and fitted at [`settings().maxSide`]; frames are delivered at their own size. */
  readonly maxSide?: number;
}

/** Events of a live session (also the JSON messages of the stream API). */
export type LiveEvent =
  | {
      readonly type: 'ready';
      /** The size frames are taken and delivered at (the source size; a fitted session's working-size frames stay at it). */
      readonly width: number;
      readonly height: number;
      /** The working size the correspondence runs at (`STREAMEDIT_MAX_SIDE`, or the fitted work dir's). */
      readonly working: { readonly width: number; readonly height: number };
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
  /** The edited frame, at the size it came in (the source size). */
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

/** A frame as `push` queued it. */
export interface Incoming {
  readonly index: number;
  readonly image: RgbFrame;
  readonly receivedAt: number;
}
