import { ToolError } from '../errors';
import type { RgbFrame } from '../image/frame';
import { logger } from '../log';
import { ModelStore } from '../models/model-store';
import { settings } from '../settings';
import { BrowserSession, type PageReply, SessionLostError } from './browser-session';
import { type FaceObservation, LANDMARK_COUNT, type LandmarkDetector } from './face-observation';

const log = logger('landmarks');

export interface ChromiumLandmarkDetectorOptions {
  /** face_landmarker.task. Default: `ModelStore.resolve('face_landmarker')` (verified by sha256). */
  readonly faceModelPath?: string;
  /** selfie_segmenter_f16.tflite. Default: `ModelStore.resolve('selfie_segmenter_f16')`. */
  readonly segmenterModelPath?: string;
  /** Model store used for the defaults above. Default: `new ModelStore()`. */
  readonly modelStore?: ModelStore;
  /** Chromium binary. Default: `settings().chromiumPath` (`STREAMEDIT_CHROMIUM`). */
  readonly chromiumPath?: string;
  /** MediaPipe face detection threshold. Default 0.5. */
  readonly minFaceDetectionConfidence?: number;
  /** MediaPipe face presence threshold. Default 0.5. */
  readonly minFacePresenceConfidence?: number;
  /** How long one frame may take before the browser is declared hung and restarted. Default 30 000 ms. */
  readonly timeoutMs?: number;
}

/**
 * MediaPipe FaceLandmarker (478 points + 52 blendshapes) and ImageSegmenter (selfie person mask) run in headless
 * Chromium, because tasks-vision needs WebGL2 and does not run in plain Node.js. One long-lived browser page per
 * detector, started on first use; frames go to it as raw RGB bytes. When the browser dies or hangs, the next call
 * starts a new one (a frame whose session was lost mid-way is retried once on the new session).
 */
export class ChromiumLandmarkDetector implements LandmarkDetector {
  private live?: BrowserSession;
  private starting?: Promise<BrowserSession>;
  private closed = false;

  constructor(private readonly options: ChromiumLandmarkDetectorOptions = {}) {}

  async detect(frame: RgbFrame): Promise<FaceObservation> {
    if (frame.data.length !== frame.width * frame.height * 3) {
      throw new RangeError(`frame data is not ${frame.width}×${frame.height} RGB`);
    }
    for (let attempt = 0; ; attempt++) {
      const session = await this.open();
      try {
        const reply = await session.request(frame);
        log.trace({ ms: reply.ms }, 'frame analysed in the page');
        return toObservation(reply, frame);
      } catch (err) {
        if (!(err instanceof SessionLostError) || this.closed || attempt > 0) throw asToolError(err);
        log.warn({ err: err.message }, 'restarting the landmark browser');
      }
    }
  }

  /** Starts the browser now (otherwise the first `detect` does); useful to keep start-up out of timings. */
  async warmUp(): Promise<void> {
    await this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.live?.close();
    this.live = undefined;
  }

  /**
   * The live session, or the one being started (shared by concurrent callers, so a dead browser is replaced by
   * exactly one new one). A failed start is not kept: the next call tries again.
   */
  private open(): Promise<BrowserSession> {
    if (this.closed) return Promise.reject(new ToolError('The landmark detector is closed.'));
    if (this.live?.alive) return Promise.resolve(this.live);
    this.starting ??= this.start()
      .then((session) => (this.live = session))
      .finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async start(): Promise<BrowserSession> {
    const store = this.options.modelStore ?? new ModelStore();
    const [faceModelPath, segmenterModelPath] = await Promise.all([
      this.options.faceModelPath ?? store.resolve('face_landmarker'),
      this.options.segmenterModelPath ?? store.resolve('selfie_segmenter_f16'),
    ]);
    const started = Date.now();
    const session = await BrowserSession.start({
      chromiumPath: this.options.chromiumPath ?? settings().chromiumPath,
      faceModelPath,
      segmenterModelPath,
      minFaceDetectionConfidence: this.options.minFaceDetectionConfidence ?? 0.5,
      minFacePresenceConfidence: this.options.minFacePresenceConfidence ?? 0.5,
      timeoutMs: this.options.timeoutMs ?? 30_000,
    });
    log.info({ ms: Date.now() - started }, 'landmark browser ready');
    return session;
  }
}

/** Page reply → observation in pixel coordinates (pixel centres at integers, as `FlowField`). */
function toObservation(reply: PageReply, frame: RgbFrame): FaceObservation {
  if (reply.error) throw new ToolError(`MediaPipe failed on a ${frame.width}×${frame.height} frame.`, reply.error);
  if (reply.mask.length !== frame.width * frame.height)
    throw new ToolError(
      `The landmark page returned a mask of ${reply.mask.length} bytes for a ${frame.width}×${frame.height} frame.`,
    );
  if (!reply.face || !reply.landmarks) return { face: false, mask: reply.mask };
  if (reply.landmarks.length !== 2 * LANDMARK_COUNT)
    throw new ToolError(
      `The face landmarker returned ${reply.landmarks.length / 2} points instead of ${LANDMARK_COUNT}.`,
    );
  const landmarks = new Float32Array(2 * LANDMARK_COUNT);
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    landmarks[2 * i] = reply.landmarks[2 * i]! * frame.width - 0.5;
    landmarks[2 * i + 1] = reply.landmarks[2 * i + 1]! * frame.height - 0.5;
  }
  return { face: true, landmarks, blendshapes: reply.blendshapes ?? {}, mask: reply.mask };
}

function asToolError(err: unknown): unknown {
  return err instanceof SessionLostError
    ? new ToolError(`The landmark browser failed twice in a row: ${err.message}.`, '', { cause: err })
    : err;
}
