import type { ClipBenchOptions } from './clip-bench-options';
import { basename, join, resolve } from 'node:path';
import {
  backwardWarpRgb,
  runDisBaseline,
  type DisResult,
  createBackbone,
  FrameStore,
  ModelCorrespondence,
  ModelStore,
  reconstructVideo,
  type ProgressListener,
  type ReconstructionResult,
  f1,
  f2,
  formatTable,
} from '@streamedit/pipeline';
import { selectClips, videoFiles } from './select-clips';

/** Clips: every .mp4 in `dir` unless `clips` selects some. */
export type PpceBenchOptions = ClipBenchOptions;

export interface PpceClipRow {
  readonly clip: string;
  readonly frames: number;
  readonly landmark: ReconstructionResult['all'];
  readonly model: ReconstructionResult['all'];
  readonly dis: DisResult | { skipped: string };
  readonly iterations: number;
  readonly trainMsPerIter: number;
  readonly fitMs: number;
}

/**
 * `bench ppce`: per clip, single reference, the reconstruction PSNR/SSIM of (a) the landmark warp alone, (b) the
 * trained PPCE model (warp only, no synthesis), (c) OpenCV DIS in the same run; plus training ms/iteration and
 * inference ms/frame (features + model + warp).
 */
export async function benchPpce(
  o: PpceBenchOptions,
  onProgress: ProgressListener,
): Promise<{ rows: PpceClipRow[]; inference?: InferenceTiming; table: string }> {
  const clips = selectClips(await videoFiles(o.dir), o.clips);
  const rows: PpceClipRow[] = [];
  let inference: InferenceTiming | undefined;
  for (const file of clips) {
    const video = resolve(o.dir, file);
    const workDir = join(o.cacheDir, basename(file, '.mp4'));
    const common = {
      frames: o.frames,
      preset: o.preset,
      maxIterations: o.iterations,
      arr: false as const,
      synthesis: 'off' as const,
      streamingSplit: false,
      workDir,
      reuse: true,
    };
    const landmark = await reconstructVideo(video, { ...common, method: 'landmark' }, onProgress);
    const model = await reconstructVideo(video, { ...common, method: 'model' }, onProgress);
    const dis = await runDisBaseline(video, o.frames);
    rows.push({
      clip: file,
      frames: model.frames,
      landmark: landmark.all,
      model: model.all,
      dis,
      iterations: model.iterations,
      trainMsPerIter: 1000 / model.trainIterPerSecond,
      fitMs: model.timingsMs.fit ?? 0,
    });
    inference ??= await timeInference(workDir, 30);
  }
  const table = formatTable(
    [
      'clip',
      'frames',
      'landmark warp PSNR / SSIM',
      'PPCE PSNR / SSIM',
      'DIS PSNR / SSIM',
      'PPCE − DIS dB',
      'train ms/iter',
    ],
    rows.map((r) => {
      const dis = 'psnr' in r.dis ? r.dis : undefined;
      return [
        r.clip.replace(/\.mp4$/, ''),
        String(r.frames),
        `${f2(r.landmark.psnr)} / ${f1(r.landmark.ssimPercent)}`,
        `${f2(r.model.psnr)} / ${f1(r.model.ssimPercent)}`,
        dis ? `${f2(dis.psnr)} / ${f1(dis.ssimPercent)}` : `— (${(r.dis as { skipped: string }).skipped})`,
        dis ? f2(r.model.psnr - dis.psnr) : '—',
        f1(r.trainMsPerIter),
      ];
    }),
  );
  const timing = inference
    ? `\ninference at ${inference.width}×${inference.height} (model ${inference.modelWidth}×${inference.modelHeight}): features ${f1(inference.featuresMs)} ms + model ${f1(inference.modelMs)} ms + warp ${f1(inference.warpMs)} ms = ${f1(inference.totalMs)} ms/frame (mean of ${inference.frames})`
    : '';
  return { rows, inference, table: table + timing };
}

export interface InferenceTiming {
  readonly width: number;
  readonly height: number;
  readonly modelWidth: number;
  readonly modelHeight: number;
  readonly frames: number;
  readonly featuresMs: number;
  readonly modelMs: number;
  readonly warpMs: number;
  readonly totalMs: number;
}

/** Per-frame inference at working size: backbone features of the new frame, the model, the warp. */
async function timeInference(workDir: string, frames: number): Promise<InferenceTiming> {
  const model = await ModelCorrespondence.open(workDir, join(workDir, 'model-single', 'model.onnx'));
  const store = await FrameStore.open(join(workDir, 'frames'));
  const backbone = await createBackbone(new ModelStore());
  const ref = await store.read(0);
  const n = Math.min(frames, store.count - 1);
  let featuresMs = 0,
    modelMs = 0,
    warpMs = 0;
  try {
    for (let t = 1; t <= n; t++) {
      const frame = await store.read(t);
      let t0 = performance.now();
      await backbone.extract(frame);
      featuresMs += performance.now() - t0;
      t0 = performance.now();
      const c = await model.between(0, t);
      modelMs += performance.now() - t0;
      t0 = performance.now();
      backwardWarpRgb(ref, c.flow);
      warpMs += performance.now() - t0;
    }
  } finally {
    await backbone.release();
    await model.close();
    store.close();
  }
  const { width, height } = model.model.shape;
  return {
    width: store.width,
    height: store.height,
    modelWidth: width,
    modelHeight: height,
    frames: n,
    featuresMs: featuresMs / n,
    modelMs: modelMs / n,
    warpMs: warpMs / n,
    totalMs: (featuresMs + modelMs + warpMs) / n,
  };
}
