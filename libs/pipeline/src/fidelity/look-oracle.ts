import { basename, join } from 'node:path';
import { DEFAULT_ARR } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { getLook } from '../edit/looks';
import type { RgbFrame } from '../image/frame';
import { analyzeVideo, loadAnalysis } from '../job/analyze';
import { fitDirName, fitModel, loadFit } from '../job/fit';
import { ModelCorrespondence } from '../job/model-correspondence';
import { DEFAULT_PROPAGATION, propagateEdit } from '../job/propagate';
import { decodeFrames } from '../media/decode';
import { psnr } from '../metrics/psnr';
import { noProgress, type ProgressListener } from '../progress';
import { settings } from '../settings';
import { DisFlowSource } from './dis-flow';
import { meanOf } from './metrics';
import type { LookOracleRow } from './report';
import { LastPairCache, lockstep } from './sources';

/** Options of the look oracle on one real clip (defaults in brackets). */
export interface LookOracleOptions {
  /** First N frames [300]. */
  readonly frames?: number;
  /** Work dir of the clip (analysis and fit reused when they match). */
  readonly workDir: string;
  readonly preset?: CorrespondencePreset;
  /** Training iterations [1000]. */
  readonly iterations?: number;
  /** The look [`cartoon`]. */
  readonly look?: string;
}

/**
 * The look oracle on a real clip: the look applied to frame 0 is propagated to every frame (the product as `edit`
 * does, and OpenCV DIS), and each frame is compared (PSNR, whole frame) with the look applied to that frame itself.
 */
export async function lookOracle(
  video: string,
  o: LookOracleOptions,
  onProgress: ProgressListener = noProgress,
): Promise<LookOracleRow> {
  const look = getLook(o.look ?? 'cartoon');
  const analysis =
    (await loadAnalysis(o.workDir, video, o.frames ?? 300)) ??
    (await analyzeVideo(video, o.workDir, { maxFrames: o.frames ?? 300 }, onProgress));
  const n = analysis.count;
  const real: RgbFrame[] = [];
  for await (const f of decodeFrames(video, { count: n, maxSide: settings().maxSide })) real.push(f);
  const preset = o.preset ?? 'cpu';
  const iterations = o.iterations ?? 1000;
  const modelDir = fitDirName(true, false);
  const fit =
    (await loadFit(join(o.workDir, modelDir), n, preset, iterations)) ??
    (await fitModel(
      o.workDir,
      { preset, maxIterations: iterations, keyframes: [0], arr: DEFAULT_ARR, modelDir },
      onProgress,
    ));
  const model = await ModelCorrespondence.open(o.workDir, fit.onnxPath);
  const dis = new DisFlowSource(video, { width: analysis.width, height: analysis.height, frames: n });
  const keyframe = look.apply(real[0]!);
  const frameAt = async (i: number): Promise<RgbFrame> => real[i]!;
  const edits = new Map([[0, keyframe]]);
  const shared = new LastPairCache(model);
  const product = propagateEdit({ frameAt, windows: fit.windows, edits, correspondence: shared }, DEFAULT_PROPAGATION);
  // `raw`: the same fit, the look carried by the correspondence's own flow (no edit flow) — the edit flow's contrast.
  const raw = propagateEdit(
    { frameAt, windows: fit.windows, edits, correspondence: shared },
    { ...DEFAULT_PROPAGATION, editFlow: 'off' },
  );
  const flow = propagateEdit(
    { frameAt, windows: [{ reference: 0, start: 0, end: n, cause: 'first' }], edits, correspondence: dis },
    { ...DEFAULT_PROPAGATION, synthesis: 'off', editFlow: 'off' },
  );
  const scores: Record<string, number[]> = { product: [], raw: [], dis: [] };
  try {
    for await (const [p, r, d] of lockstep(product, raw, flow)) {
      if (p.index > 0) {
        const target = look.apply(real[p.index]!);
        scores.product!.push(psnr(p.image, target));
        scores.raw!.push(psnr(r.image, target));
        scores.dis!.push(psnr(d.image, target));
      }
      onProgress({ stage: `look ${basename(video)}`, done: p.index + 1, total: n });
    }
  } finally {
    await model.close();
    await dis.close();
  }
  return {
    clip: basename(video).replace(/\.[^.]+$/, ''),
    frames: n,
    psnr: { product: meanOf(scores.product!), raw: meanOf(scores.raw!), dis: meanOf(scores.dis!) },
  };
}
