import { InputError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';
import { readPng, rgbaToRgb, type RgbaImage } from '../image/png';
import { resizeRgb } from '../image/resize';
import { getLook } from './looks';
import { requestPromptEdit } from './prompt-editor';

/** What a user gives as an edit (exactly one kind per job). `at` is the keyframe index (default 0). */
export type EditSpec =
  | { readonly kind: 'keyframes'; readonly keyframes: ReadonlyArray<{ readonly at: number; readonly path: string }> }
  | { readonly kind: 'overlay'; readonly path: string; readonly at?: number }
  | { readonly kind: 'look'; readonly name: string; readonly at?: number }
  | { readonly kind: 'prompt'; readonly text: string; readonly at?: number };

/** A keyframe and its edit, both at working size. */
export interface EditedKeyframe {
  readonly at: number;
  readonly original: RgbFrame;
  readonly edited: RgbFrame;
}

export interface VideoGeometry {
  readonly frameCount: number;
  /** Working size (what the pipeline processes). */
  readonly width: number;
  readonly height: number;
  /** Source size (what the user saw). */
  readonly sourceWidth: number;
  readonly sourceHeight: number;
}

/** Checks an edit against the video before any expensive work: indices in range, a look that exists. */
export function validateEditSpec(spec: EditSpec, video: VideoGeometry): void {
  const indices = spec.kind === 'keyframes' ? spec.keyframes.map((k) => k.at) : [spec.at ?? 0];
  if (spec.kind === 'keyframes' && spec.keyframes.length === 0) throw new InputError('No keyframe given: pass at least one edited keyframe image.');
  for (const at of indices) {
    if (!Number.isInteger(at) || at < 0 || at >= video.frameCount) {
      throw new InputError(`Keyframe index ${at} is out of range: the video has frames 0–${video.frameCount - 1}.`);
    }
  }
  if (new Set(indices).size !== indices.length) throw new InputError('Two keyframes share a frame index: give each index once.');
  if (spec.kind === 'look') getLook(spec.name);
  if (spec.kind === 'prompt' && spec.text.trim() === '') throw new InputError('The prompt is empty: describe the edit in words.');
}

/** Builds the edited keyframes at working size; `frameAt` reads an original frame at working size. */
export async function resolveEdit(
  spec: EditSpec,
  video: VideoGeometry,
  frameAt: (index: number) => Promise<RgbFrame>,
): Promise<EditedKeyframe[]> {
  validateEditSpec(spec, video);
  switch (spec.kind) {
    case 'keyframes':
      return Promise.all(
        spec.keyframes.map(async ({ at, path }) => ({
          at,
          original: await frameAt(at),
          edited: toWorkingSize(rgbaToRgb(await readPng(path)), video, path),
        })),
      );
    case 'overlay': {
      const at = spec.at ?? 0;
      const original = await frameAt(at);
      return [{ at, original, edited: compositeOverlay(original, await readPng(spec.path), video, spec.path) }];
    }
    case 'look': {
      const at = spec.at ?? 0;
      const original = await frameAt(at);
      return [{ at, original, edited: getLook(spec.name).apply(original) }];
    }
    case 'prompt': {
      const at = spec.at ?? 0;
      const original = await frameAt(at);
      const edited = await requestPromptEdit(original, spec.text);
      return [{ at, original, edited: toWorkingSize(edited, video, 'the image-editing endpoint’s answer') }];
    }
  }
}

/**
 * The one check of an edit image's size (keyframe, overlay, an editor's answer) against the video: working size, or
 * source size (resized later). Used by the pipeline when it reads the image and by the farm's API on the PNG header
 * at upload, so both refuse the same images.
 * @returns whether the image is at working size (used as is) or source size (to be resized).
 * @throws InputError naming the image (`what`), its size and the accepted ones.
 */
export function checkEditImageSize(img: { readonly width: number; readonly height: number }, video: VideoGeometry, what: string): 'working' | 'source' {
  if (img.width === video.width && img.height === video.height) return 'working';
  if (img.width === video.sourceWidth && img.height === video.sourceHeight) return 'source';
  const sizes = video.width === video.sourceWidth && video.height === video.sourceHeight
    ? `${video.width}×${video.height}`
    : `${video.sourceWidth}×${video.sourceHeight} (source) or ${video.width}×${video.height} (working size)`;
  throw new InputError(`${what} is ${img.width}×${img.height} but the video frame is ${sizes}: give an image of that size.`);
}

/** Accepts an image at working size or at source size (resized); any other size is a clear error. */
function toWorkingSize(img: RgbFrame, video: VideoGeometry, what: string): RgbFrame {
  return checkEditImageSize(img, video, what) === 'working' ? img : resizeRgb(img, video.width, video.height);
}

/** Composites an RGBA overlay (straight alpha) onto the keyframe. An overlay without alpha is refused. */
export function compositeOverlay(frame: RgbFrame, overlay: RgbaImage, video: VideoGeometry, what = 'overlay'): RgbFrame {
  if (!overlay.hasAlpha) throw new InputError(`${what} has no alpha channel: give an RGBA PNG whose transparent pixels keep the frame.`);
  let rgba = overlay;
  if (overlay.width !== video.width || overlay.height !== video.height) {
    const rgb = toWorkingSize(rgbaToRgb(overlay), video, what);
    const alpha = toWorkingSize(alphaAsRgb(overlay), video, what);
    const data = new Uint8Array(video.width * video.height * 4);
    for (let i = 0; i < video.width * video.height; i++) {
      data.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4);
      data[i * 4 + 3] = alpha.data[i * 3]!;
    }
    rgba = { width: video.width, height: video.height, data, hasAlpha: true };
  }
  const out = new Uint8Array(frame.data.length);
  for (let i = 0; i < frame.width * frame.height; i++) {
    const a = rgba.data[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(rgba.data[i * 4 + c]! * a + frame.data[i * 3 + c]! * (1 - a));
  }
  return createFrame(frame.width, frame.height, out);
}

function alphaAsRgb(img: RgbaImage): RgbFrame {
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = img.data[i * 4 + 3]!;
  return createFrame(img.width, img.height, out);
}
