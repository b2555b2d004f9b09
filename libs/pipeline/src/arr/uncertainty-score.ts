import { resizeAreaPlanar } from '../correspondence/inputs';
import type { FloatImage } from '../image/frame';

/**
 * The ARR statistic, as the trainer's `score_frames` computes it (python/streamedit_trainer/train.py): the fraction
 * of the frame's person pixels whose σ is above τ, both at model size. Live sessions and offline replays of them
 * score frames with it, so that they replace references where the trainer would.
 */
export function uncertainFraction(sigma: FloatImage, mask: Uint8Array, tau: number): number {
  if (mask.length !== sigma.data.length) throw new RangeError(`mask has ${mask.length} pixels, σ ${sigma.data.length}`);
  let person = 0;
  let uncertain = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    person++;
    if (sigma.data[i]! > tau) uncertain++;
  }
  return person ? uncertain / person : 0;
}

/** Person confidence (0..255 at frame size) → 0/1 at model size: area-resized, cut at 0.5 like the trainer. */
export function modelSizePersonMask(
  mask: Uint8Array,
  frame: { width: number; height: number },
  size: { width: number; height: number },
): Uint8Array {
  const confidence = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) confidence[i] = mask[i]! / 255;
  const small = resizeAreaPlanar(confidence, 1, frame.width, frame.height, size.width, size.height);
  const out = new Uint8Array(small.length);
  for (let i = 0; i < small.length; i++) out[i] = small[i]! > 0.5 ? 1 : 0;
  return out;
}
