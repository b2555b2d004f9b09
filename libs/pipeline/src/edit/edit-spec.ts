import { InputError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';
import { readPng, rgbaToRgb, type RgbaImage } from '../image/png';
import { resampleRgb, transferEdit } from '../image/resample';
import { getLook } from './looks';
import { requestPromptEdit } from './prompt-editor';

/** What a user gives as an edit (exactly one kind per job). `at` is the keyframe index (default 0). */
export type EditSpec =
  | { readonly kind: 'keyframes'; readonly keyframes: ReadonlyArray<{ readonly at: number; readonly path: string }> }
  | { readonly kind: 'overlay'; readonly path: string; readonly at?: number }
  | { readonly kind: 'look'; readonly name: string; readonly at?: number }
  | { readonly kind: 'prompt'; readonly text: string; readonly at?: number };

/** A keyframe and its edit at working size, and at the source size when the caller reads source frames. */
export interface EditedKeyframe {
  readonly at: number;
  readonly original: RgbFrame;
  readonly edited: RgbFrame;
  /** The keyframe and its edit at the source size (what the output is rendered from). */
  readonly source?: { readonly original: RgbFrame; readonly edited: RgbFrame };
}

export interface VideoGeometry {
  readonly frameCount: number;
  /** Working size (what the correspondence is computed at). */
  readonly width: number;
  readonly height: number;
  /** Source size (displayed orientation, even sides): what the user saw and what the output is. */
  readonly sourceWidth: number;
  readonly sourceHeight: number;
}

/** Options of the edit-image size rule ({@link editImageFit}). */
export interface EditImageOptions {
  /** Accept a working-size keyframe / overlay / prompt answer and upscale it to the source size [false]. */
  readonly upscaleKeyframe?: boolean;
}

/**
 * THE size rule of edit images (keyframes, overlays, the prompt endpoint's answer), for the CLI, the API's upload
 * check and the pipeline alike: an image at the source size is taken as is; one at the working size only with
 * `upscaleKeyframe` (it is then upscaled, the source frame's detail kept where it is unedited); any other size is an
 * `InputError` naming the image's size and the source size.
 * @returns `source` or `working`: the size the image was given at.
 */
export function editImageFit(
  image: { readonly width: number; readonly height: number },
  video: VideoGeometry,
  what: string,
  options: EditImageOptions = {},
): 'source' | 'working' {
  const { width, height } = image;
  if (width === video.sourceWidth && height === video.sourceHeight) return 'source';
  const working = width === video.width && height === video.height;
  if (working && options.upscaleKeyframe) return 'working';
  const size = `${video.sourceWidth}×${video.sourceHeight}`;
  const hint =
    video.width === video.sourceWidth && video.height === video.sourceHeight
      ? ''
      : working
        ? ` (a ${video.width}×${video.height} working-size image is accepted only with the upscale-keyframe option: CLI --upscale-keyframe, API field upscaleKeyframe=true)`
        : '';
  throw new InputError(`${what} is ${width}×${height} but the video is ${size}: give an image of ${size}${hint}.`);
}

/** Checks an edit against the video before any expensive work: indices in range, a look that exists. */
export function validateEditSpec(spec: EditSpec, video: VideoGeometry): void {
  const indices = spec.kind === 'keyframes' ? spec.keyframes.map((k) => k.at) : [spec.at ?? 0];
  if (spec.kind === 'keyframes' && spec.keyframes.length === 0)
    throw new InputError('No keyframe given: pass at least one edited keyframe image.');
  for (const at of indices) {
    if (!Number.isInteger(at) || at < 0 || at >= video.frameCount) {
      throw new InputError(`Keyframe index ${at} is out of range: the video has frames 0–${video.frameCount - 1}.`);
    }
  }
  if (new Set(indices).size !== indices.length)
    throw new InputError('Two keyframes share a frame index: give each index once.');
  if (spec.kind === 'look') getLook(spec.name);
  if (spec.kind === 'prompt' && spec.text.trim() === '')
    throw new InputError('The prompt is empty: describe the edit in words.');
}

/**
 * Where {@link resolveEdit} reads original frames: `working(i)` at the working size, and `source(i)` at the source
 * size (omit it when both sizes are the same, e.g. a live session's frames).
 */
export interface EditFrames {
  readonly working: (index: number) => Promise<RgbFrame>;
  readonly source?: (index: number) => Promise<RgbFrame>;
}

/**
 * Builds the edited keyframes. The edit is made at the source size (looks applied, overlays composited, keyframes
 * taken there) when `frames.source` is given, and carried to the working size by {@link transferEdit}; a function
 * alone reads working-size frames and everything stays at that size.
 */
export async function resolveEdit(
  spec: EditSpec,
  video: VideoGeometry,
  frames: EditFrames | ((index: number) => Promise<RgbFrame>),
  options: EditImageOptions = {},
): Promise<EditedKeyframe[]> {
  validateEditSpec(spec, video);
  const read: EditFrames = typeof frames === 'function' ? { working: frames } : frames;
  const atSource = read.source !== undefined;
  // Without source frames the working size plays the source's part.
  const geometry: VideoGeometry = atSource ? video : { ...video, sourceWidth: video.width, sourceHeight: video.height };
  const edit = async (
    at: number,
    make: (original: RgbFrame, working: () => Promise<RgbFrame>) => Promise<RgbFrame>,
  ) => {
    const working = await read.working(at);
    if (!read.source) return { at, original: working, edited: await make(working, async () => working) };
    const original = await read.source(at);
    const edited = await make(original, async () => working);
    return { at, original: working, edited: transferEdit(original, edited, working), source: { original, edited } };
  };
  const image = (img: RgbFrame, what: string) => async (original: RgbFrame, working: () => Promise<RgbFrame>) =>
    toSourceSize(img, geometry, what, original, await working(), options);
  switch (spec.kind) {
    case 'keyframes':
      return Promise.all(
        spec.keyframes.map(async ({ at, path }) => edit(at, image(rgbaToRgb(await readPng(path)), path))),
      );
    case 'overlay': {
      const overlay = await readPng(spec.path);
      return [
        await edit(spec.at ?? 0, async (original) =>
          compositeOverlay(original, overlayAtSourceSize(overlay, geometry, spec.path, options), geometry, spec.path),
        ),
      ];
    }
    case 'look':
      return [await edit(spec.at ?? 0, async (original) => getLook(spec.name).apply(original))];
    case 'prompt':
      return [
        await edit(spec.at ?? 0, async (original, working) => {
          const answer = await requestPromptEdit(original, spec.text);
          return toSourceSize(
            answer,
            geometry,
            'the image-editing endpoint’s answer',
            original,
            await working(),
            options,
          );
        }),
      ];
  }
}

/** An edit image at the source size per {@link editImageFit}; a working-size one is carried up onto `original`. */
function toSourceSize(
  img: RgbFrame,
  video: VideoGeometry,
  what: string,
  original: RgbFrame,
  working: RgbFrame,
  options: EditImageOptions,
): RgbFrame {
  if (editImageFit(img, video, what, options) === 'source') return img;
  return transferEdit(working, img, original);
}

/** An overlay at the source size per {@link editImageFit} (a working-size one upscaled, alpha too). */
function overlayAtSourceSize(
  overlay: RgbaImage,
  video: VideoGeometry,
  what: string,
  options: EditImageOptions,
): RgbaImage {
  if (!overlay.hasAlpha)
    throw new InputError(`${what} has no alpha channel: give an RGBA PNG whose transparent pixels keep the frame.`);
  if (editImageFit(overlay, video, what, options) === 'source') return overlay;
  const { sourceWidth: W, sourceHeight: H } = video;
  const rgb = resampleRgb(rgbaToRgb(overlay), W, H);
  const alpha = resampleRgb(alphaAsRgb(overlay), W, H);
  const data = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) {
    data.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4);
    data[i * 4 + 3] = alpha.data[i * 3]!;
  }
  return { width: W, height: H, data, hasAlpha: true };
}

/** Composites an RGBA overlay (straight alpha, the frame's size) onto the keyframe. An overlay without alpha is refused. */
export function compositeOverlay(
  frame: RgbFrame,
  overlay: RgbaImage,
  video: VideoGeometry,
  what = 'overlay',
): RgbFrame {
  if (!overlay.hasAlpha)
    throw new InputError(`${what} has no alpha channel: give an RGBA PNG whose transparent pixels keep the frame.`);
  if (overlay.width !== frame.width || overlay.height !== frame.height) editImageFit(overlay, video, what); // throws the size rule's message
  const out = new Uint8Array(frame.data.length);
  for (let i = 0; i < frame.width * frame.height; i++) {
    const a = overlay.data[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++)
      out[i * 3 + c] = Math.round(overlay.data[i * 4 + c]! * a + frame.data[i * 3 + c]! * (1 - a));
  }
  return createFrame(frame.width, frame.height, out);
}

function alphaAsRgb(img: RgbaImage): RgbFrame {
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = img.data[i * 4 + 3]!;
  return createFrame(img.width, img.height, out);
}
