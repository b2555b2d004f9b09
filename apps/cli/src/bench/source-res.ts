import type { ClipBenchOptions } from './clip-bench-options';
import { basename, join, resolve } from 'node:path';
import {
  analyzeVideo,
  backwardWarpRgb,
  DEFAULT_ARR,
  DEFAULT_FLOW_UPSAMPLING,
  DEFAULT_PROPAGATION,
  detailGateFor,
  DIS_SOURCE_SIZE_SCRIPT,
  fitDirName,
  fitModel,
  FrameStore,
  liftRender,
  loadAnalysis,
  loadFit,
  ModelCorrespondence,
  probeVideo,
  psnr,
  renderPropagatedFrame,
  runDisBaseline,
  SequentialSourceFrames,
  sourceFrame,
  sourceRefineFor,
  sourceSize,
  ssim,
  upscaleBicubic,
  windowReferences,
  withExactDetail,
  f1,
  f2,
  formatTable,
  type DisResult,
  type FlowUpsampling,
  type LiftRequest,
  type NearestNeighbourField,
  type ProgressListener,
  type RgbFrame,
} from '@streamedit/pipeline';
import { selectClips, videoFiles } from './select-clips';

/** Clips: `lp_s18` (the 1280×720 clip) unless `clips` selects others. */
export type SourceResBenchOptions = ClipBenchOptions;

/** Mean reconstruction scores at the source size over the non-reference frames. */
export interface SourceScores {
  readonly psnr: number;
  readonly ssimPercent: number;
}

export interface SourceResRow {
  readonly clip: string;
  readonly frames: number;
  readonly source: { width: number; height: number };
  readonly working: { width: number; height: number };
  readonly references: number;
  readonly iterations: number;
  /** Working-size correspondence lifted with the guided filter, the full-size reference warped. */
  readonly guided: SourceScores;
  /** The same with the flow lifted by plain bilinear interpolation. */
  readonly bilinear: SourceScores;
  /**
   * What `edit` renders: its lift (`DEFAULT_FLOW_UPSAMPLING`) with the detail gate of {@link DEFAULT_PROPAGATION}
   * (`detailGateFor`); the two lift columns keep all the full-size detail.
   */
  readonly product: { readonly lift: FlowUpsampling; readonly gated: boolean; readonly scores: SourceScores };
  /** The working-size result bicubic-upscaled to the source size. */
  readonly naive: SourceScores;
  /**
   * `naive` with the real frame's own detail above the working size put back exactly ({@link withExactDetail}):
   * how far any lift of the same working-size result could get by detail alone.
   */
  readonly naiveExactDetail: SourceScores;
  /** The working-size result scored at the working size (for orientation, not comparable). */
  readonly workingSize: SourceScores;
  readonly dis: DisResult | { skipped: string };
  /** Mean ms per frame of the lift to the source size (flow upsampling, full-size warp, detail put back). */
  readonly liftMs: Readonly<Record<FlowUpsampling | 'product', number>>;
}

/**
 * `bench source-res`: the reconstruction protocol (../shared/data/README.md) scored at the source size. One fit at
 * working size (ARR, budget 2 per 100 frames); each frame's working-size propagation (warp + synthesis of uncertain
 * pixels) is then delivered four ways — lifted with the guided filter, lifted bilinearly, as `edit` delivers it (its
 * lift and detail gate), and bicubic-upscaled (naive) — and OpenCV DIS runs at the source size in the same run. The
 * naive result with the frame's own full-size detail put back exactly bounds what a lift adds over naive by detail
 * alone (a lift that also mended the working-size error could pass it).
 */
export async function benchSourceRes(
  o: SourceResBenchOptions,
  onProgress: ProgressListener,
): Promise<{ rows: SourceResRow[]; table: string }> {
  const clips = selectClips(await videoFiles(o.dir), o.clips, ['lp_s18']);
  const rows: SourceResRow[] = [];
  for (const file of clips) rows.push(await benchClip(resolve(o.dir, file), o, onProgress));
  return { rows, table: sourceResTable(rows) };
}

/**
 * The table: both lifts, naive and DIS, and the product's margins over DIS and naive — from the lift the product
 * renders with (`row.product`), not from whichever column comes first.
 */
export function sourceResTable(rows: readonly SourceResRow[]): string {
  return formatTable(
    [
      'clip',
      'frames',
      'source / working',
      'refs',
      'iters',
      'guided lift PSNR / SSIM',
      'bilinear lift',
      'naive bicubic',
      'naive + exact detail',
      'DIS at source size',
      'product',
      'product PSNR / SSIM',
      'Δ DIS dB',
      'Δ naive dB',
      'exact detail − naive dB',
      'lift ms/frame guided / bilinear / product',
    ],
    rows.map((r) => {
      const dis = 'psnr' in r.dis ? r.dis : undefined;
      const pair = (s: SourceScores) => `${f2(s.psnr)} / ${f1(s.ssimPercent)}`;
      const product = r.product.scores;
      return [
        r.clip.replace(/\.mp4$/, ''),
        String(r.frames),
        `${r.source.width}×${r.source.height} / ${r.working.width}×${r.working.height}`,
        String(r.references),
        String(r.iterations),
        pair(r.guided),
        pair(r.bilinear),
        pair(r.naive),
        pair(r.naiveExactDetail),
        dis ? pair(dis) : `— (${(r.dis as { skipped: string }).skipped})`,
        `${r.product.lift} lift${r.product.gated ? ' + detail gate' : ''}`,
        pair(product),
        dis ? f2(product.psnr - dis.psnr) : '—',
        f2(product.psnr - r.naive.psnr),
        f2(r.naiveExactDetail.psnr - r.naive.psnr),
        `${f1(r.liftMs.guided)} / ${f1(r.liftMs.bilinear)} / ${f1(r.liftMs.product)}`,
      ];
    }),
  );
}

async function benchClip(video: string, o: SourceResBenchOptions, onProgress: ProgressListener): Promise<SourceResRow> {
  const workDir = join(o.cacheDir, 'source-res', basename(video, '.mp4'));
  const info = await probeVideo(video);
  const full = sourceSize(info);
  const analysis =
    (await loadAnalysis(workDir, video, o.frames)) ??
    (await analyzeVideo(video, workDir, { maxFrames: o.frames }, onProgress));
  const modelDir = fitDirName(true, false);
  const fit =
    (await loadFit(join(workDir, modelDir), analysis.count, o.preset, o.iterations)) ??
    (await fitModel(
      workDir,
      { preset: o.preset, maxIterations: o.iterations, keyframes: [0], arr: DEFAULT_ARR, modelDir },
      onProgress,
    ));
  const frames = await FrameStore.open(join(workDir, 'frames'));
  const model = await ModelCorrespondence.open(workDir, fit.onnxPath);
  const sums = {
    guided: new Sum(),
    bilinear: new Sum(),
    product: new Sum(),
    naive: new Sum(),
    naiveExactDetail: new Sum(),
    workingSize: new Sum(),
  };
  const liftMs = { guided: 0, bilinear: 0, product: 0 };
  const propagation = { ...DEFAULT_PROPAGATION, editRegion: 'full' as const };
  const productLift = propagation.upsampling ?? DEFAULT_FLOW_UPSAMPLING;
  const productGate = detailGateFor(propagation.detail);
  try {
    const first = fit.windows[0]!.reference;
    // Reconstruction: the "edit" is the unedited reference, at both sizes.
    const input = {
      frameAt: (i: number) => frames.read(i),
      edits: new Map([[first, await frames.read(first)]]),
      sourceEdits: new Map([[first, await sourceFrame(info, first)]]),
      sourceFrameAt: (i: number) => sourceFrame(info, i),
      correspondence: model,
    };
    const ones = new Float32Array(frames.width * frames.height).fill(1);
    let wi = 0;
    for await (const ref of windowReferences(input, fit.windows, propagation)) {
      const w = fit.windows[wi++]!;
      const reader = new SequentialSourceFrames(info, w.start, w.end - w.start);
      let prevNnf: NearestNeighbourField | undefined;
      try {
        for (let t = w.start; t < w.end; t++) {
          onProgress({ stage: 'render', done: t + 1, total: analysis.count });
          if (t === ref.index) continue; // references are not scored
          const current = await frames.read(t);
          const c = await model.between(ref.index, t);
          const r = await renderPropagatedFrame(
            { ref, current, correspondence: c, weights: ones, prevNnf },
            propagation,
          );
          prevNnf = r.nnf;
          const real = await reader.at(t);
          const warped = backwardWarpRgb(ref.edited, c.flow);
          const lift = (mode: FlowUpsampling): LiftRequest => ({
            warped,
            result: r.image,
            flow: c.flow,
            current,
            currentFull: real,
            editedFull: ref.source!.edited,
            upsampling: { mode },
            // As `edit` renders (a reconstruction carries no edit, so `liftRender` runs no source-size pass).
            layer: { flow: c.flow, originalFull: ref.source!.original },
            refine: sourceRefineFor(propagation.sourceRefine, { work: current, full: real, face: c.face }),
          });
          for (const mode of ['guided', 'bilinear'] as const) {
            const t0 = performance.now();
            const lifted = liftRender(lift(mode));
            liftMs[mode] += performance.now() - t0;
            sums[mode].add(lifted.image, real);
          }
          const t0 = performance.now();
          const product = liftRender({ ...lift(productLift), detail: productGate }).image;
          liftMs.product += performance.now() - t0;
          sums.product.add(product, real);
          const naive = upscaleBicubic(r.image, full.width, full.height);
          sums.naive.add(naive, real);
          sums.naiveExactDetail.add(withExactDetail(naive, real, current), real);
          sums.workingSize.add(r.image, current);
        }
      } finally {
        await reader.close();
      }
    }
  } finally {
    await model.close();
    frames.close();
  }
  const dis = await runDisBaseline(video, o.frames, 0, DIS_SOURCE_SIZE_SCRIPT);
  const n = Math.max(1, sums.guided.count);
  return {
    clip: basename(video),
    frames: analysis.count,
    source: full,
    working: { width: analysis.width, height: analysis.height },
    references: fit.windows.length,
    iterations: fit.iterations,
    guided: sums.guided.mean(),
    bilinear: sums.bilinear.mean(),
    product: {
      lift: productLift,
      gated: productGate !== undefined,
      scores: sums.product.mean(),
    },
    naive: sums.naive.mean(),
    naiveExactDetail: sums.naiveExactDetail.mean(),
    workingSize: sums.workingSize.mean(),
    dis,
    liftMs: { guided: liftMs.guided / n, bilinear: liftMs.bilinear / n, product: liftMs.product / n },
  };
}

/** Running sums of PSNR and SSIM. */
class Sum {
  count = 0;
  private p = 0;
  private s = 0;
  add(a: RgbFrame, b: RgbFrame): void {
    this.count++;
    this.p += psnr(a, b);
    this.s += ssim(a, b);
  }
  mean(): SourceScores {
    const n = Math.max(1, this.count);
    return { psnr: this.p / n, ssimPercent: (100 * this.s) / n };
  }
}
