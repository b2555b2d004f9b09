import { performance } from 'node:perf_hooks';
import { InputError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';
import { logger } from '../log';
import { settings } from '../settings';
import { FEATURE_CHANNELS, replicatePadding, type LevelBuffers } from './kernel';
import { packedIdentity, packNnfAtLevel, unpackNnf, upsamplePacked } from './nnf';
import { dilateMask, downsampleMask, maskIndices, rgbPyramid, toFloatRgb, type FloatRgb } from './pyramid';
import { withBandRunner, type BandRunner } from './pool';
import type {
  GuidedSynthesisInput,
  GuidedSynthesisOptions,
  GuidedSynthesisResult,
  NearestNeighbourField,
  SynthesisLevelTiming,
} from './types';

const log = logger('synthesis');

/** Options with every default filled in. */
interface Resolved {
  readonly radius: number;
  readonly levels: number;
  readonly pmIters: number;
  readonly emIters: number;
  readonly ws: number;
  readonly wg: number;
  readonly wi: number;
  readonly wt: number;
  readonly fineRadius: number;
  readonly threads: number;
  readonly seed: number;
  readonly weightedVoting: boolean;
}

/** Patch error per pixel below which vote weights saturate (measured: 1–12 give the same PSNR within 0.02 dB). */
const VOTE_SCALE_PER_PIXEL = 4;

/**
 * Guided patch synthesis (image analogy, EbSynth-class): makes B′ so that every patch of B′ is a patch of the
 * style A′ whose guide patch in A matches B there. Minimises, over the target region,
 *
 *   Σ_q  ws·|A′(p) − B′(q)|² + wg·|A(p) − B(q)|² + wi·|A′(p) − init(q)|² + wt·|A′(p) − prev(q)|²,  p = NNF(q),
 *
 * (sums over patches) coarse-to-fine: at each pyramid level a few EM iterations of PatchMatch search restricted
 * to the mask dilated by the patch radius, then voting (average of overlapping patches) into the masked pixels.
 * Pixels outside `mask` are exactly `init`.
 *
 * @throws RangeError when the images (or mask, init, fields) differ in size.
 * @throws InputError when a mask is given without `init` (the pixels outside it would have no value).
 */
export async function synthesizeGuided(
  input: GuidedSynthesisInput,
  options: GuidedSynthesisOptions = {},
): Promise<GuidedSynthesisResult> {
  const start = performance.now();
  const { width: w, height: h } = input.style;
  validate(input);
  const cfg = resolveOptions(w, h, options, input);
  const fields = fieldsOf(input);

  const pyr = (f: RgbFrame) => rgbPyramid(toFloatRgb(f.width, f.height, f.data), cfg.levels);
  const style = pyr(input.style);
  const guideS = pyr(input.guideSource);
  const guideT = pyr(input.guideTarget);
  const init = input.init ? pyr(input.init) : undefined;
  const prev = input.temporal ? pyr(input.temporal.previousOutput) : undefined;
  const masks = maskPyramid(input.mask, w, h, cfg.levels);

  const timings: SynthesisLevelTiming[] = [];
  const finest = await withBandRunner(cfg.threads, async (runner) => {
    let nnf: Int32Array | undefined;
    let level: LevelBuffers | undefined;
    for (let l = cfg.levels - 1; l >= 0; l--) {
      const s = style[l]!;
      const coarsest = l === cfg.levels - 1;
      level = buildLevel(cfg, runner.threads > 1, {
        style: s,
        guideS: guideS[l]!,
        guideT: guideT[l]!,
        init: init?.[l],
        prev: prev?.[l],
        mask: masks[l],
        fields: fields.map((f) => packNnfAtLevel(f, l, s.width, s.height)),
        coarse: nnf && { nnf, width: style[l + 1]!.width, height: style[l + 1]!.height },
        coarsest,
      });
      runner.setLevel(level);
      timings.push(await synthesizeLevel(level, runner, cfg, l, coarsest, !!init));
      nnf = level.nnf;
    }
    return level!;
  });
  const totalMs = performance.now() - start;
  log.debug({ width: w, height: h, threads: cfg.threads, searched: finest.active.length, totalMs }, 'guided synthesis');
  return {
    image: toImage(input, style[0]!, finest.out),
    nnf: unpackNnf(finest.nnf, w, h),
    timings: { totalMs, levels: timings },
  };
}

function validate(input: GuidedSynthesisInput): void {
  const { width: w, height: h } = input.style;
  const same = (f: RgbFrame | undefined, name: string) => {
    if (f && (f.width !== w || f.height !== h))
      throw new RangeError(`${name} is ${f.width}×${f.height}, style is ${w}×${h}: guided synthesis needs equal sizes`);
  };
  same(input.guideSource, 'guideSource');
  same(input.guideTarget, 'guideTarget');
  same(input.init, 'init');
  same(input.temporal?.previousOutput, 'temporal.previousOutput');
  if (w > 0xffff || h > 0xffff) throw new RangeError(`frames up to 65535 px a side are supported, got ${w}×${h}`);
  if (input.mask && input.mask.length !== w * h)
    throw new RangeError(`mask has ${input.mask.length} values, needs ${w * h}`);
  if (input.mask && !input.init)
    throw new InputError(
      'A synthesis mask was given without init: pass init (the warped edit) so the pixels outside the mask have a value.',
    );
  for (const f of fieldsOf(input)) {
    if (f.width !== w || f.height !== h || f.data.length !== 2 * w * h)
      throw new RangeError(`initNnf is ${f.width}×${f.height}, needs ${w}×${h} with ${2 * w * h} values`);
  }
}

/** `initNnf` as a list (none, one or several fields). */
function fieldsOf(input: GuidedSynthesisInput): readonly NearestNeighbourField[] {
  const f = input.initNnf;
  return f === undefined
    ? []
    : Array.isArray(f)
      ? (f as readonly NearestNeighbourField[])
      : [f as NearestNeighbourField];
}

function resolveOptions(w: number, h: number, o: GuidedSynthesisOptions, input: GuidedSynthesisInput): Resolved {
  const patch = o.patchSize ?? 5;
  if (!Number.isInteger(patch) || patch < 3 || patch % 2 === 0)
    throw new RangeError(`patchSize must be an odd integer ≥ 3, got ${patch}`);
  const weights = {
    styleWeight: o.styleWeight ?? 1,
    guideWeight: o.guideWeight ?? 4,
    initWeight: o.initWeight ?? 0,
    'temporal.weight': input.temporal?.weight ?? 0,
  };
  for (const [name, v] of Object.entries(weights)) {
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${name} must be a finite number ≥ 0, got ${v}`);
  }
  let auto = 1;
  while (auto < 6 && Math.min(w, h) / 2 ** auto >= 2 * patch + 1) auto++;
  return {
    radius: patch >> 1,
    levels: Math.max(1, Math.min(o.levels ?? auto, auto)),
    pmIters: o.patchMatchIterations ?? 2,
    emIters: o.emIterations ?? 2,
    ws: weights.styleWeight,
    wg: weights.guideWeight,
    wi: input.init ? weights.initWeight : 0,
    wt: weights['temporal.weight'],
    fineRadius: o.fineSearchRadius ?? Infinity,
    threads: Math.max(1, Math.floor(o.threads ?? settings().synthThreads)),
    seed: o.seed ?? 1,
    weightedVoting: o.weightedVoting ?? true,
  };
}

/** Mask per level (undefined = every pixel). */
function maskPyramid(mask: Uint8Array | undefined, w: number, h: number, levels: number): (Uint8Array | undefined)[] {
  const out: (Uint8Array | undefined)[] = [mask];
  for (let l = 1; l < levels; l++) {
    const m = out[l - 1];
    out.push(m && downsampleMask(m, (w + (1 << (l - 1)) - 1) >> (l - 1), (h + (1 << (l - 1)) - 1) >> (l - 1)));
  }
  return out;
}

interface LevelInput {
  readonly style: FloatRgb;
  readonly guideS: FloatRgb;
  readonly guideT: FloatRgb;
  readonly init?: FloatRgb;
  readonly prev?: FloatRgb;
  readonly mask?: Uint8Array;
  readonly fields: Int32Array[];
  readonly coarse?: { nnf: Int32Array; width: number; height: number };
  readonly coarsest: boolean;
}

/**
 * Allocates and fills one level's buffers. The style-space terms are folded into one: Σ_k w_k·|A′ − b_k|² equals
 * Wt·|A′ − b̄|² plus a term that depends on the target alone (b̄ = Σ w_k b_k / Wt, Wt = Σ w_k), so for choosing p
 * it is exact to compare √Wt·A′ with √Wt·b̄ = (ws·B′ + wi·init + wt·prev)/√Wt: three channels, not nine.
 */
function buildLevel(cfg: Resolved, shared: boolean, li: LevelInput): LevelBuffers {
  const { width: w, height: h } = li.style;
  const r = cfg.radius;
  const padded = (w + 2 * r) * (h + 2 * r);
  const f32 = (n: number) => (shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n));
  const i32 = (n: number) => (shared ? new Int32Array(new SharedArrayBuffer(4 * n)) : new Int32Array(n));
  const wt = cfg.ws + cfg.wi + cfg.wt;
  const root = Math.sqrt(wt);
  const sg = Math.sqrt(cfg.wg);

  const src = f32(padded * FEATURE_CHANNELS);
  const tgt = f32(padded * FEATURE_CHANNELS);
  const style = f32(padded * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const p = (y + r) * (w + 2 * r) + x + r;
      for (let c = 0; c < 3; c++) {
        style[p * 3 + c] = li.style.data[i + c]!;
        src[p * FEATURE_CHANNELS + c] = root * li.style.data[i + c]!;
        src[p * FEATURE_CHANNELS + 3 + c] = sg * li.guideS.data[i + c]!;
        tgt[p * FEATURE_CHANNELS + 3 + c] = sg * li.guideT.data[i + c]!;
      }
    }
  }
  replicatePadding(src, w, h, r, FEATURE_CHANNELS);
  replicatePadding(style, w, h, r, 3);

  let fixed: Float32Array = new Float32Array(0);
  if (cfg.wi + cfg.wt > 0 && wt > 0) {
    fixed = f32(w * h * 3);
    for (let i = 0; i < w * h * 3; i++)
      fixed[i] = (cfg.wi * (li.init?.data[i] ?? 0) + cfg.wt * (li.prev?.data[i] ?? 0)) / root;
  }

  const nnf = i32(w * h);
  if (li.coarse) upsamplePacked(li.coarse.nnf, li.coarse.width, li.coarse.height, nnf, w, h);
  else nnf.set(li.fields[0] ?? packedIdentity(w, h));
  // At the coarsest level the first field is the start itself; elsewhere every field competes with the upsampled one.
  const extra = li.coarsest ? li.fields.slice(1) : li.fields;
  const candidates = i32(extra.length * w * h);
  extra.forEach((f, k) => candidates.set(f, k * w * h));

  const synth = li.mask ? maskIndices(li.mask) : allIndices(w * h);
  const active = li.mask ? maskIndices(dilateMask(li.mask, w, h, r)) : synth;
  const out = f32(w * h * 3);
  if (li.init) out.set(li.init.data);
  return {
    width: w,
    height: h,
    radius: r,
    src,
    tgt,
    style,
    nnf,
    err: f32(w * h),
    active: shared ? copyShared(active) : active,
    synth: shared ? copyShared(synth) : synth,
    out,
    styleScale: wt > 0 ? cfg.ws / root : 0,
    voteScale: cfg.weightedVoting ? VOTE_SCALE_PER_PIXEL * (2 * r + 1) ** 2 : 0,
    fixed,
    candidates,
  };
}

function allIndices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

function copyShared(a: Int32Array): Int32Array {
  const out = new Int32Array(new SharedArrayBuffer(Math.max(4, a.byteLength)), 0, a.length);
  out.set(a);
  return out;
}

/** Writes the style channels of every target feature from the current B′ and refreshes the padding. */
function writeTargetStyle(b: LevelBuffers): void {
  const { width: w, height: h, radius: r } = b;
  const hasFixed = b.fixed.length > 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const t = ((y + r) * (w + 2 * r) + x + r) * FEATURE_CHANNELS;
      for (let c = 0; c < 3; c++) b.tgt[t + c] = b.styleScale * b.out[o + c]! + (hasFixed ? b.fixed[o + c]! : 0);
    }
  }
  replicatePadding(b.tgt, w, h, r, FEATURE_CHANNELS);
}

/** EM at one level: initial B′ (init at the coarsest level, else a vote of the upsampled field), then search + vote. */
async function synthesizeLevel(
  b: LevelBuffers,
  runner: BandRunner,
  cfg: Resolved,
  l: number,
  coarsest: boolean,
  hasInit: boolean,
): Promise<SynthesisLevelTiming> {
  let searchMs = 0;
  let voteMs = 0;
  const t0 = performance.now();
  if (!(coarsest && hasInit)) await runner.run({ op: 'vote' });
  writeTargetStyle(b);
  voteMs += performance.now() - t0;

  // Coarse levels are cheap, so they search the whole image: that is what finds far matches (a head turn, a
  // highlight that moved); with a local search there, katiehill 0 → 40 flipped between 30.7 and 32.1 dB by seed.
  const side = Math.max(b.width, b.height);
  const radius = l > 0 ? side : Math.min(cfg.fineRadius, side);
  const em = Math.min(2 * cfg.emIters, cfg.emIters + l);
  let pass = 0;
  for (let e = 0; e < em; e++) {
    const t1 = performance.now();
    await runner.run({ op: 'refresh', candidates: e === 0 });
    for (let p = 0; p < cfg.pmIters; p++, pass++) {
      const seed = Math.imul(cfg.seed + 0x632be5ab * (l + 1), 0x9e3779b1) ^ pass;
      await runner.run({ op: 'pass', reverse: pass % 2 === 1, radius, seed });
    }
    const t2 = performance.now();
    await runner.run({ op: 'vote' });
    replicatePadding(b.tgt, b.width, b.height, b.radius, FEATURE_CHANNELS);
    voteMs += performance.now() - t2;
    searchMs += t2 - t1;
  }
  return { width: b.width, height: b.height, searched: b.active.length, searchMs, voteMs };
}

/** B′ as 8-bit RGB: synthesised pixels rounded, the others copied from `init` byte for byte. */
function toImage(input: GuidedSynthesisInput, s: FloatRgb, out: Float32Array): RgbFrame {
  const n = s.width * s.height;
  const data = new Uint8Array(n * 3);
  const mask = input.mask;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const k = i * 3 + c;
      data[k] = mask && !mask[i] ? input.init!.data[k]! : Math.min(255, Math.max(0, Math.round(out[k]!)));
    }
  }
  return createFrame(s.width, s.height, data);
}
