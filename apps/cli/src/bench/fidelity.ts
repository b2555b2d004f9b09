import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  ChromiumLandmarkDetector,
  InputError,
  KnownMotionClip,
  benchmarkFidelityClip,
  decodeFrames,
  fidelityTable,
  fidelityVerdict,
  lookOracle,
  lookOracleTable,
  probeVideo,
  settings,
  workingSize,
  type CorrespondencePreset,
  type FaceBox,
  type FidelityClipResult,
  type FidelityMethod,
  type LookOracleRow,
  type ProgressListener,
  type RgbFrame,
} from '@streamedit/pipeline';
import { selectClips, videoFiles } from './select-clips';

/** Bump when the generator changes: the work dirs (clip video, analysis, fits) are keyed by it. */
const GENERATOR_VERSION = 2;

/** The known-motion clips: a still of each source, moved; `mouth` = a mouth that opens (a disocclusion). */
const CLIPS = {
  512: [
    { name: 'km-katiehill', file: 'hdtf_katiehill_WDA_000_512.mp4', mouth: false },
    { name: 'km-may', file: 'may_theresa_5s_512.mp4', mouth: true },
    { name: 'km-d3', file: 'lp_d3_woman_expressions_512.mp4', mouth: false },
    { name: 'km-german', file: 'mimictalk_german_anchor_20s_512.mp4', mouth: true },
    { name: 'km-d9', file: 'lp_d9_selfie_glasses_blinks_512x480.mp4', mouth: false },
    { name: 'km-d20', file: 'lp_d20_outdoor_boy_480.mp4', mouth: true },
  ],
  720: [
    { name: 'km720-s18', file: 'lp_s18_portrait_indoor_1280x720.mp4', mouth: false },
    { name: 'km720-s18-open', file: 'lp_s18_portrait_indoor_1280x720.mp4', mouth: true },
  ],
} as const;

export interface FidelityBenchOptions {
  /** Folder of the real clips (stills and the look oracle). */
  readonly dir: string;
  /** Frames of each known-motion clip [100]. */
  readonly frames: number;
  /** Frames of each real clip in the look oracle [300]. */
  readonly lookFrames: number;
  readonly seed: number;
  readonly size: 512 | 720;
  readonly methods: readonly FidelityMethod[];
  readonly preset: CorrespondencePreset;
  readonly iterations: number;
  /** The `--clips` list over the known-motion and the real clips (`selectClips`); absent: all. */
  readonly clips?: readonly string[];
  /** Root of the per-clip work dirs (videos, analyses, fits, outputs); reruns reuse them. */
  readonly workDir: string;
  /** Skip the look oracle. */
  readonly noLook: boolean;
  /** Folder for the contact sheets. */
  readonly sheetDir: string;
}

export interface FidelityBenchResult {
  readonly clips: readonly FidelityClipResult[];
  readonly look: readonly LookOracleRow[];
  readonly table: string;
}

/**
 * `bench fidelity`: the edit-fidelity benchmark. Known-motion clips generated from stills of the real clips (exact
 * ground truth for an edited keyframe: checkerboards, dots, text), each method scored against it; then the look
 * oracle on the real clips (`cartoon` propagated from frame 0 against `cartoon` applied to every frame).
 */
export async function benchFidelity(
  o: FidelityBenchOptions,
  onProgress: ProgressListener,
): Promise<FidelityBenchResult> {
  // One selection over the known-motion clips and the real clips, so a filter may name either kind.
  const files = await videoFiles(o.dir);
  const selected = new Set(selectClips([...CLIPS[o.size].map((c) => c.name), ...files], o.clips));
  const specs = CLIPS[o.size].filter((c) => selected.has(c.name));
  const clips: FidelityClipResult[] = [];
  if (specs.length) {
    const detector = new ChromiumLandmarkDetector();
    try {
      for (const spec of specs) {
        const video = resolve(o.dir, spec.file);
        const info = await probeVideo(video);
        const still = await firstFrame(video, Math.max(info.width, info.height));
        const face = await faceBox(detector, still, video);
        const work = workingSize(info, settings().maxSide);
        const key = createHash('sha256')
          .update(JSON.stringify([GENERATOR_VERSION, spec, o.seed, o.frames, work, face]))
          .digest('hex')
          .slice(0, 10);
        const clip = new KnownMotionClip({
          name: spec.name,
          still,
          face,
          frames: o.frames,
          seed: o.seed,
          mouthOpening: spec.mouth,
          work,
        });
        const workDir = join(o.workDir, `${spec.name}-${key}`);
        const result = await benchmarkFidelityClip(
          clip,
          {
            workDir,
            methods: o.methods,
            preset: o.preset,
            iterations: o.iterations,
            sheet: join(o.sheetDir, `${spec.name}.png`),
          },
          onProgress,
        );
        // Kept as each clip ends: a long run stopped part-way still has the finished clips' scores.
        await writeFile(join(workDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
        clips.push(result);
      }
    } finally {
      await detector.close();
    }
  }
  const look: LookOracleRow[] = [];
  if (!o.noLook) {
    for (const f of files.filter((name) => selected.has(name)))
      look.push(
        await lookOracle(
          resolve(o.dir, f),
          {
            frames: o.lookFrames,
            workDir: join(o.workDir, 'look', basename(f, '.mp4')),
            preset: o.preset,
            iterations: o.iterations,
          },
          onProgress,
        ),
      );
  }
  const parts = [];
  if (clips.length) {
    const scored = [...new Set(clips.map((c) => `${c.scoredWidth}×${c.scoredHeight}`))].join(', ');
    parts.push(
      `Known-motion clips (${o.size}, seed ${o.seed}, ${o.frames} frames; scored at ${scored}, drift in those px)\n${fidelityTable(clips)}`,
    );
  }
  if (look.length) parts.push(`Look oracle (cartoon from frame 0 vs cartoon on every frame)\n${lookOracleTable(look)}`);
  const verdict = fidelityVerdict(clips, look);
  if (verdict) parts.push(`Against the issue's targets\n${verdict}`);
  if (!parts.length)
    throw new InputError(`No clip matches --clips ${o.clips?.join(',')}: see the clip names in docs/benchmarks.md.`);
  return { clips, look, table: parts.join('\n\n') };
}

async function firstFrame(video: string, maxSide: number): Promise<RgbFrame> {
  for await (const f of decodeFrames(video, { count: 1, maxSide })) return f;
  throw new InputError(`${video} has no frame.`);
}

/** The bounding box of the landmark mesh of the still (the generator places its deformations and marks by it). */
async function faceBox(detector: ChromiumLandmarkDetector, still: RgbFrame, video: string): Promise<FaceBox> {
  const obs = await detector.detect(still);
  if (!obs.face || !obs.landmarks) throw new InputError(`No face in frame 0 of ${video}: give portrait clips.`);
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < obs.landmarks.length; i += 2) {
    x0 = Math.min(x0, obs.landmarks[i]!);
    x1 = Math.max(x1, obs.landmarks[i]!);
    y0 = Math.min(y0, obs.landmarks[i + 1]!);
    y1 = Math.max(y1, obs.landmarks[i + 1]!);
  }
  // Rounded so the box (part of the work-dir key) does not vary with float noise of the detector.
  const r = (v: number): number => Math.round(v * 4) / 4;
  return { cx: r((x0 + x1) / 2), cy: r((y0 + y1) / 2), width: r(x1 - x0), height: r(y1 - y0) };
}
