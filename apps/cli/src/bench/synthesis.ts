import type { ClipBenchOptions } from './clip-bench-options';
import { basename, join, resolve } from 'node:path';
import {
  editVideo,
  reconstructVideo,
  runTrainerCommand,
  type ProgressListener,
  f1,
  f2,
  formatTable,
} from '@streamedit/pipeline';
import { selectClips, videoFiles } from './select-clips';

/** EbSynth's figures on the same clips (../shared/data/README.md: every 10th of 300 frames, one reference). */
export const EBSYNTH_PSNR: Readonly<Record<string, number>> = {
  hdtf_katiehill: 32.18,
  may_theresa: 37.41,
  lp_d3: 37.86,
  mimictalk_german: 36.02,
  lp_d9: 36.1,
  lp_d20: 32.5,
};

/** The synthesis bench takes what every clip bench takes. */
export type SynthesisBenchOptions = ClipBenchOptions;

export interface SynthesisRow {
  readonly clip: string;
  readonly frames: number;
  readonly references: number;
  readonly off: { psnr: number; ssimPercent: number };
  readonly uncertain: { psnr: number; ssimPercent: number; msPerFrame: number; fraction: number };
  readonly ebsynth?: number;
  /** Warping error between consecutive frames of a `cartoon` edit, without and with synthesis, and of the source. */
  readonly temporal: { off: number; uncertain: number; original: number };
}

const ebsynthFor = (clip: string): number | undefined =>
  Object.entries(EBSYNTH_PSNR).find(([k]) => clip.startsWith(k))?.[1];

async function temporalError(
  output: string,
  original: string,
  frames: number,
): Promise<{ warpingError: number; originalWarpingError: number }> {
  const events = await runTrainerCommand([
    'temporal-error',
    '--output',
    output,
    '--original',
    original,
    '--frames',
    String(frames),
  ]);
  const e = events.find((x) => x.type === 'temporal-error')!;
  return { warpingError: Number(e.warpingError), originalWarpingError: Number(e.originalWarpingError) };
}

/**
 * `bench synthesis` ("Beat EbSynth"): per clip, the ARR reconstruction without and with per-frame synthesis of
 * uncertain pixels, the synthesis time per frame, EbSynth's published figure, and the temporal warping error of a
 * real edit (cartoon look) without and with synthesis — so a PSNR gain that flickers is visible.
 */
export async function benchSynthesis(
  o: SynthesisBenchOptions,
  onProgress: ProgressListener,
): Promise<{ rows: SynthesisRow[]; table: string }> {
  const clips = selectClips(await videoFiles(o.dir), o.clips);
  const rows: SynthesisRow[] = [];
  for (const file of clips) {
    const video = resolve(o.dir, file);
    const workDir = join(o.cacheDir, basename(file, '.mp4'));
    // One reference (within the protocol's budget): the same fit as `bench ppce`, so the two suites share it.
    const common = {
      frames: o.frames,
      preset: o.preset,
      maxIterations: o.iterations,
      arr: false as const,
      streamingSplit: false,
      workDir,
      reuse: true,
    };
    const off = await reconstructVideo(video, { ...common, synthesis: 'off' }, onProgress);
    const unc = await reconstructVideo(video, { ...common, synthesis: 'uncertain' }, onProgress);
    const edited = { off: join(workDir, 'cartoon-off.mp4'), uncertain: join(workDir, 'cartoon-uncertain.mp4') };
    for (const mode of ['off', 'uncertain'] as const) {
      const editOptions = {
        preset: o.preset,
        maxIterations: o.iterations,
        maxFrames: o.frames,
        arr: false as const,
        workDir,
        reuse: true,
        propagation: { synthesis: mode },
      };
      await editVideo(video, { kind: 'look', name: 'cartoon' }, edited[mode], editOptions, onProgress);
    }
    const tOff = await temporalError(edited.off, video, o.frames);
    const tUnc = await temporalError(edited.uncertain, video, o.frames);
    const clip = basename(file, '.mp4');
    rows.push({
      clip,
      frames: unc.frames,
      references: unc.references,
      off: { psnr: off.all.psnr, ssimPercent: off.all.ssimPercent },
      uncertain: {
        psnr: unc.all.psnr,
        ssimPercent: unc.all.ssimPercent,
        msPerFrame: unc.synthesisMsPerFrame,
        fraction: unc.synthesizedFraction,
      },
      ebsynth: ebsynthFor(clip),
      temporal: { off: tOff.warpingError, uncertain: tUnc.warpingError, original: tOff.originalWarpingError },
    });
  }
  const table = formatTable(
    [
      'clip',
      'frames',
      'refs',
      'warp only PSNR / SSIM',
      'with synthesis PSNR / SSIM',
      'EbSynth PSNR',
      'Δ vs EbSynth',
      'synthesis ms/frame',
      '% pixels',
      'temporal err off / on / source',
    ],
    rows.map((r) => [
      r.clip,
      String(r.frames),
      String(r.references),
      `${f2(r.off.psnr)} / ${f1(r.off.ssimPercent)}`,
      `${f2(r.uncertain.psnr)} / ${f1(r.uncertain.ssimPercent)}`,
      f2(r.ebsynth),
      r.ebsynth === undefined ? '—' : f2(r.uncertain.psnr - r.ebsynth),
      f1(r.uncertain.msPerFrame),
      f1(100 * r.uncertain.fraction),
      `${f2(r.temporal.off)} / ${f2(r.temporal.uncertain)} / ${f2(r.temporal.original)}`,
    ]),
  );
  return { rows, table };
}
