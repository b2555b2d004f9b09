/**
 * The inner loops of guided patch synthesis: patch distance, PatchMatch passes and voting over one pyramid level.
 * Everything here works on flat typed arrays in a `LevelBuffers` record so that the calling thread and the
 * worker threads (which see the same SharedArrayBuffers) run exactly the same code on different chunks of pixels.
 *
 * Layout: features are interleaved, `FEATURE_CHANNELS` floats per pixel, in images padded by the patch radius r
 * on every side (edge replicated), so a patch centred on image pixel (x, y) starts at padded (x, y) and no loop
 * needs a bounds check. The NNF packs a source pixel as `(y << 16) | x` in one Int32, so a thread propagating
 * from a neighbour in another thread's chunk never reads a torn (x, y) pair (the read itself may be stale: that
 * race is benign, it only changes which candidate is tried).
 */

/** Channels per feature pixel: 3 style-space channels (compared with A′) and 3 guide channels (A vs B). `patchDistance` unrolls exactly these six. */
export const FEATURE_CHANNELS = 6;

export interface LevelBuffers {
  readonly width: number;
  readonly height: number;
  /** Patch radius r (patch side 2r + 1). */
  readonly radius: number;
  /** Source features, padded: [√Wt·A′, √wg·A] per pixel. */
  readonly src: Float32Array;
  /** Target features, padded: [styleScale·B′ + fixed, √wg·B] per pixel; the first three change with each vote. */
  readonly tgt: Float32Array;
  /** A′ in RGB (0..255), padded, 3 floats per pixel: what the vote averages. */
  readonly style: Float32Array;
  /** Target → source field, packed `(y << 16) | x`, W·H. */
  readonly nnf: Int32Array;
  /** Patch distance of each target pixel's current match, W·H. */
  readonly err: Float32Array;
  /** Target pixel indices that are searched (the mask dilated by r), row-major. */
  readonly active: Int32Array;
  /** Target pixel indices that are voted (the mask), row-major. */
  readonly synth: Int32Array;
  /** B′ in RGB (0..255), W·H·3, unpadded. */
  readonly out: Float32Array;
  /** Style channels of the target feature = styleScale·B′ + fixed (see `synthesize.ts` for why this is exact). */
  readonly styleScale: number;
  /** W·H·3, or empty when there is no temporal/init term. */
  readonly fixed: Float32Array;
  /** Error scale of the vote weights 1 / (1 + err / voteScale); 0 = plain average. */
  readonly voteScale: number;
  /** Extra packed candidate fields, K·W·H (K may be 0). */
  readonly candidates: Int32Array;
}

/**
 * Sum of squared feature differences over a patch of `cols` × `rows` pixels, stopping early once it reaches
 * `bound`. The six channels are unrolled: about 2.5× faster in V8 than a flat loop over the row's floats.
 */
function patchDistance(
  src: Float32Array,
  tgt: Float32Array,
  si: number,
  ti: number,
  cols: number,
  rowStep: number,
  rows: number,
  bound: number,
): number {
  let d = 0;
  for (let row = 0; row < rows; row++) {
    for (let k = 0, s = si, t = ti; k < cols; k++, s += 6, t += 6) {
      const e0 = src[s]! - tgt[t]!;
      const e1 = src[s + 1]! - tgt[t + 1]!;
      const e2 = src[s + 2]! - tgt[t + 2]!;
      const e3 = src[s + 3]! - tgt[t + 3]!;
      const e4 = src[s + 4]! - tgt[t + 4]!;
      const e5 = src[s + 5]! - tgt[t + 5]!;
      d += e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3 + e4 * e4 + e5 * e5;
    }
    if (d >= bound) return d;
    si += rowStep;
    ti += rowStep;
  }
  return d;
}

/** Geometry shared by every loop of a level. */
interface Geometry {
  readonly w: number;
  readonly h: number;
  readonly stride: number;
  readonly rowStep: number;
  readonly rows: number;
}

function geometry(b: LevelBuffers): Geometry {
  const stride = b.width + 2 * b.radius;
  const rows = 2 * b.radius + 1;
  return { w: b.width, h: b.height, stride, rowStep: stride * FEATURE_CHANNELS, rows };
}

/** Distance between target pixel q's patch (top-left feature offset `ti`) and packed source `v`. */
function distanceTo(b: LevelBuffers, g: Geometry, ti: number, v: number, bound: number): number {
  const si = ((v >>> 16) * g.stride + (v & 0xffff)) * FEATURE_CHANNELS;
  return patchDistance(b.src, b.tgt, si, ti, g.rows, g.rowStep, g.rows, bound);
}

/**
 * Recomputes the error of the current match of `active[from..to)` (the target features changed since the last
 * vote) and tries every extra candidate field there.
 */
export function refreshAndTryCandidates(b: LevelBuffers, from: number, to: number, tryCandidates: boolean): void {
  const g = geometry(b);
  const hw = g.w * g.h;
  const k = tryCandidates ? b.candidates.length / hw : 0;
  for (let i = from; i < to; i++) {
    const q = b.active[i]!;
    const qy = (q / g.w) | 0;
    const ti = (qy * g.stride + (q - qy * g.w)) * FEATURE_CHANNELS;
    let best = b.nnf[q]!;
    let bestErr = distanceTo(b, g, ti, best, Infinity);
    for (let c = 0; c < k; c++) {
      const v = b.candidates[c * hw + q]!;
      if (v === best) continue;
      const d = distanceTo(b, g, ti, v, bestErr);
      if (d < bestErr) {
        bestErr = d;
        best = v;
      }
    }
    b.nnf[q] = best;
    b.err[q] = bestErr;
  }
}

/**
 * One PatchMatch pass over `active[from..to)`: propagation from the two already-visited neighbours (left/up in
 * forward order, right/down in reverse) and random search around the best match with a radius halving from
 * `radius` down to 1. `seed` drives a xorshift32 generator so a pass is reproducible.
 */
export function patchMatchPass(
  b: LevelBuffers,
  from: number,
  to: number,
  reverse: boolean,
  radius: number,
  seed: number,
): void {
  const g = geometry(b);
  const { w, h } = g;
  const nnf = b.nnf;
  let rng = seed | 0 || 0x9e3779b9;
  const step = reverse ? -1 : 1;
  const dir = reverse ? -1 : 1;
  for (let i = reverse ? to - 1 : from; reverse ? i >= from : i < to; i += step) {
    const q = b.active[i]!;
    const qy = (q / w) | 0;
    const qx = q - qy * w;
    const ti = (qy * g.stride + qx) * FEATURE_CHANNELS;
    let best = nnf[q]!;
    let bestErr = b.err[q]!;
    // Propagation: the horizontal neighbour's match shifted by one pixel, then the vertical one's.
    const nx = qx - dir;
    if (nx >= 0 && nx < w) {
      const v = nnf[q - dir]!;
      const cx = (v & 0xffff) + dir;
      if (cx >= 0 && cx < w) {
        const c = (v & ~0xffff) | cx;
        if (c !== best) {
          const d = distanceTo(b, g, ti, c, bestErr);
          if (d < bestErr) {
            bestErr = d;
            best = c;
          }
        }
      }
    }
    const ny = qy - dir;
    if (ny >= 0 && ny < h) {
      const v = nnf[q - dir * w]!;
      const cy = (v >>> 16) + dir;
      if (cy >= 0 && cy < h) {
        const c = (cy << 16) | (v & 0xffff);
        if (c !== best) {
          const d = distanceTo(b, g, ti, c, bestErr);
          if (d < bestErr) {
            bestErr = d;
            best = c;
          }
        }
      }
    }
    // Random search in windows of halving radius around the propagated best.
    const bx = best & 0xffff;
    const by = best >>> 16;
    for (let r = radius; r >= 1; r >>= 1) {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      const span = 2 * r + 1;
      let cx = bx + ((rng >>> 0) % span) - r;
      let cy = by + (((rng >>> 0) >>> 16) % span) - r;
      cx = cx < 0 ? 0 : cx >= w ? w - 1 : cx;
      cy = cy < 0 ? 0 : cy >= h ? h - 1 : cy;
      const c = (cy << 16) | cx;
      if (c === best) continue;
      const d = distanceTo(b, g, ti, c, bestErr);
      if (d < bestErr) {
        bestErr = d;
        best = c;
      }
    }
    nnf[q] = best;
    b.err[q] = bestErr;
  }
}

/**
 * Voting over `synth[from..to)`: B′(q) is the average of A′(p + q − n) over every neighbour n of q whose patch
 * covers q, p = NNF(n), weighted by 1 / (1 + err(n) / voteScale) (plain average when voteScale is 0) so that
 * well-matched patches dominate: sharper than the plain average, ~0.5 dB in reconstruction. Also rewrites the style channels of q's target feature. Padding is refreshed by
 * the caller (`refreshTargetPadding`) once every band is done.
 */
export function vote(b: LevelBuffers, from: number, to: number): void {
  const g = geometry(b);
  const { w, h } = g;
  const r = b.radius;
  const style = b.style;
  const hasFixed = b.fixed.length > 0;
  const voteScale = b.voteScale;
  for (let i = from; i < to; i++) {
    const q = b.synth[i]!;
    const qy = (q / w) | 0;
    const qx = q - qy * w;
    let sr = 0;
    let sg = 0;
    let sb = 0;
    let n = 0;
    const y0 = qy - r < 0 ? 0 : qy - r;
    const y1 = qy + r >= h ? h - 1 : qy + r;
    const x0 = qx - r < 0 ? 0 : qx - r;
    const x1 = qx + r >= w ? w - 1 : qx + r;
    for (let ny = y0; ny <= y1; ny++) {
      for (let nx = x0; nx <= x1; nx++) {
        const v = b.nnf[ny * w + nx]!;
        // Padded coordinates of p + (q − n): the +r padding offset keeps it inside the padded style image.
        const sx = (v & 0xffff) + qx - nx + r;
        const sy = (v >>> 16) + qy - ny + r;
        const si = (sy * g.stride + sx) * 3;
        const wv = voteScale > 0 ? 1 / (1 + b.err[ny * w + nx]! / voteScale) : 1;
        sr += wv * style[si]!;
        sg += wv * style[si + 1]!;
        sb += wv * style[si + 2]!;
        n += wv;
      }
    }
    const o = q * 3;
    b.out[o] = sr / n;
    b.out[o + 1] = sg / n;
    b.out[o + 2] = sb / n;
    const ti = ((qy + r) * g.stride + qx + r) * FEATURE_CHANNELS;
    for (let c = 0; c < 3; c++) b.tgt[ti + c] = b.styleScale * b.out[o + c]! + (hasFixed ? b.fixed[o + c]! : 0);
  }
}

/** Copies the edge pixels of a padded interleaved image into its r-wide border (edge replication). */
export function replicatePadding(
  img: Float32Array,
  width: number,
  height: number,
  radius: number,
  channels: number,
): void {
  const stride = width + 2 * radius;
  for (let y = radius; y < height + radius; y++) {
    const row = y * stride;
    const left = (row + radius) * channels;
    const right = (row + radius + width - 1) * channels;
    for (let x = 0; x < radius; x++) {
      img.copyWithin((row + x) * channels, left, left + channels);
      img.copyWithin((row + radius + width + x) * channels, right, right + channels);
    }
  }
  const rowFloats = stride * channels;
  const top = radius * rowFloats;
  const bottom = (radius + height - 1) * rowFloats;
  for (let y = 0; y < radius; y++) {
    img.copyWithin(y * rowFloats, top, top + rowFloats);
    img.copyWithin((radius + height + y) * rowFloats, bottom, bottom + rowFloats);
  }
}

/** A kernel operation over the whole active (search) or synth (vote) index list of a level. */
export type KernelTask =
  | { readonly op: 'refresh'; readonly candidates: boolean }
  | { readonly op: 'pass'; readonly reverse: boolean; readonly radius: number; readonly seed: number }
  | { readonly op: 'vote' };

/** Indices per chunk of work: a few rows at 512², small enough to balance two threads on a busy machine. */
export const CHUNK = 2048;

/**
 * Runs `task` chunk by chunk, taking the next chunk from the shared `counter` (Atomics) until none is left, so
 * any number of threads can run it at once and a thread the OS preempts simply takes fewer chunks. Chunks go
 * bottom-up in reverse passes; each chunk's random sequence depends on the chunk alone.
 */
export function runChunks(b: LevelBuffers, task: KernelTask, counter: Int32Array): void {
  const total = task.op === 'vote' ? b.synth.length : b.active.length;
  const n = Math.ceil(total / CHUNK);
  for (;;) {
    const c = Atomics.add(counter, 0, 1);
    if (c >= n) return;
    const k = task.op === 'pass' && task.reverse ? n - 1 - c : c;
    const from = k * CHUNK;
    const to = Math.min(total, from + CHUNK);
    if (task.op === 'refresh') refreshAndTryCandidates(b, from, to, task.candidates);
    else if (task.op === 'pass')
      patchMatchPass(b, from, to, task.reverse, task.radius, Math.imul(task.seed ^ (k + 1), 0x9e3779b1));
    else vote(b, from, to);
  }
}
