import { InputError } from '@streamedit/pipeline';
import { PRESETS, PRIORITIES, type JobEdit, type Preset, type Priority } from '@streamedit/farm';
import { z } from 'zod';
import type { ReceivedUpload } from './upload.service';

/** The job a valid `POST /v1/jobs` asks for (before the video is probed). */
export interface JobRequest {
  readonly edit: JobEdit;
  readonly preset: Preset;
  readonly priority: Priority;
  /** Edit only the first N frames; undefined = all. */
  readonly frames?: number;
}

const optionsSchema = z
  .object({
    preset: z.enum(PRESETS).optional(),
    priority: z.enum(PRIORITIES).optional(),
    frames: z.number().int().min(1).optional(),
    upscaleKeyframe: z.boolean().optional(),
  })
  .strict();

/**
 * Reads the edit and options from the multipart fields. Exactly one edit: `look` (a built-in look's name),
 * `prompt` (text), `overlay` (an RGBA PNG) or `keyframe` (edited frame PNGs, each with its index in `keyframeAt`).
 * `at` (or a single `keyframeAt`) picks the frame a look, prompt or overlay applies to (default 0). Options come
 * as fields `preset` / `priority` / `frames` / `upscaleKeyframe` or as one JSON field `options`
 * (`{"preset":…,"priority":…,"frames":…,"upscaleKeyframe":…}`); fields win. `frames` = N edits only the first N
 * frames of the video (default: all). `upscaleKeyframe=true` accepts edit images at the working size (the CLI's
 * `--upscale-keyframe`); without it they must have the video's size (checked at upload, `editImageFit`).
 * @throws InputError (400) saying what is missing or wrong.
 */
export function parseJobRequest(upload: ReceivedUpload): JobRequest {
  if (upload.videoBytes === null) {
    throw new InputError('The video is missing: send it as the multipart file field "video".');
  }
  const one = (name: string): string | undefined => {
    const values = upload.fields.get(name);
    if (values && values.length > 1)
      throw new InputError(`The field "${name}" was sent ${values.length} times: send it once.`);
    return values?.[0];
  };
  const options = parseOptions(one('options'));
  const preset = parseEnum('preset', one('preset'), PRESETS) ?? options.preset ?? 'balanced';
  const priority = parseEnum('priority', one('priority'), PRIORITIES) ?? options.priority ?? 'normal';
  const framesField = one('frames');
  const frames = framesField !== undefined ? parseFrameCount(framesField) : options.frames;
  const upscaleField = one('upscaleKeyframe');
  const upscale = upscaleField !== undefined ? parseFlag('upscaleKeyframe', upscaleField) : options.upscaleKeyframe;
  const edit = withUpscale(parseEdit(upload, one), upscale === true);
  return { edit, preset, priority, ...(frames !== undefined ? { frames } : {}) };
}

/** The edit with `upscaleKeyframe` set when asked for; a look has no image to upscale, so asking is a mistake. */
function withUpscale(edit: JobEdit, upscale: boolean): JobEdit {
  if (!upscale) return edit;
  if (edit.kind === 'look')
    throw new InputError(
      '"upscaleKeyframe" is for edits sent as images (keyframe, overlay, prompt); a look is applied at the video’s size: leave it out.',
    );
  return { ...edit, upscaleKeyframe: true };
}

function parseFlag(name: string, raw: string): boolean {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new InputError(`"${name}" must be true or false, got "${raw.slice(0, 20)}".`);
}

function parseEdit(upload: ReceivedUpload, one: (name: string) => string | undefined): JobEdit {
  const look = one('look');
  const prompt = one('prompt');
  const given = [
    look !== undefined && 'look',
    prompt !== undefined && 'prompt',
    upload.overlayKey && 'overlay',
    upload.keyframeKeys.length > 0 && 'keyframe',
  ].filter((x): x is string => typeof x === 'string');
  if (given.length === 0) {
    throw new InputError(
      'The edit is missing: send one of the fields "look", "prompt", or the files "overlay" or "keyframe" (with "keyframeAt").',
    );
  }
  if (given.length > 1) throw new InputError(`Send one edit per job, not ${given.join(' and ')}.`);
  const indices = (upload.fields.get('keyframeAt') ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => parseIndex(v, 'keyframeAt'));
  if (upload.keyframeKeys.length > 0) {
    if (indices.length !== upload.keyframeKeys.length) {
      throw new InputError(
        `${upload.keyframeKeys.length} keyframe image(s) but ${indices.length} keyframeAt index(es): give one frame index per keyframe image.`,
      );
    }
    return { kind: 'keyframes', keyframes: upload.keyframeKeys.map((key, i) => ({ at: indices[i]!, key })) };
  }
  const atField = one('at');
  if (atField !== undefined && indices.length > 0)
    throw new InputError('Give the frame index once, as "at" or as "keyframeAt".');
  if (indices.length > 1) throw new InputError('A look, prompt or overlay applies to one frame: give one index.');
  const at = atField !== undefined ? parseIndex(atField, 'at') : (indices[0] ?? 0);
  if (look !== undefined) {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(look))
      throw new InputError('The look name must be lower-case letters, digits and dashes (see GET /v1/looks).');
    return { kind: 'look', name: look, at };
  }
  if (prompt !== undefined) {
    if (prompt.trim() === '') throw new InputError('The prompt is empty: describe the edit in words.');
    return { kind: 'prompt', text: prompt, at };
  }
  return { kind: 'overlay', key: upload.overlayKey!, at };
}

function parseOptions(raw: string | undefined): z.infer<typeof optionsSchema> {
  if (raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InputError(
      `The options field is not valid JSON (${(err as Error).message}): send e.g. {"preset":"fast","priority":"high"}.`,
    );
  }
  const parsed = optionsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`The options field is invalid at "${issue.path.join('.') || '(root)'}": ${issue.message}.`);
  }
  return parsed.data;
}

function parseEnum<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw))
    throw new InputError(`Unknown ${name} "${raw.slice(0, 40)}": use one of ${allowed.join(', ')}.`);
  return raw as T;
}

function parseFrameCount(raw: string): number {
  if (!/^\d{1,9}$/.test(raw.trim()) || Number(raw) < 1)
    throw new InputError(`"frames" must be a whole number ≥ 1 (edit the first N frames), got "${raw.slice(0, 20)}".`);
  return Number(raw);
}

function parseIndex(raw: string, field: 'at' | 'keyframeAt'): number {
  if (!/^\d{1,9}$/.test(raw.trim()))
    throw new InputError(`"${field}" must be a frame index (a whole number ≥ 0), got "${raw.slice(0, 20)}".`);
  return Number(raw);
}
