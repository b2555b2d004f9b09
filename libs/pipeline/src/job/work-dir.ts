import { join } from 'node:path';

/**
 * The layout of one video's working directory, shared by the embedded CLI and the farm workers (which mirror it
 * to storage). Every array file is a numpy-readable contract with the Python trainer.
 */
export function workLayout(root: string) {
  return {
    root,
    /** FrameStore: frames.u8 [N,H,W,3] + frames.json. */
    frames: join(root, 'frames'),
    /** LandmarkTrack: landmarks.f32 [N,478,2], presence.u8, masks.u8 [N,H,W], landmarks.json. */
    landmarks: join(root, 'landmarks'),
    /** FeatureCache: features.f32 [N,C,h,w] + features.json. */
    features: join(root, 'features'),
    /** The trainer's data directory: links to the arrays above + references.json + init_flow.f16. */
    train: join(root, 'train'),
    /** Checkpoints, scores and the exported model.onnx. */
    model: join(root, 'model'),
    /**
     * Each ARR window's edited reference, kept for live sessions: `ref-<window index>.png` at the working size and
     * `ref-<window index>-source.png` at the source size (what a live session delivers source-size frames from).
     */
    edits: join(root, 'edits'),
    analysis: join(root, 'analysis.json'),
  } as const;
}

export type WorkLayout = ReturnType<typeof workLayout>;
