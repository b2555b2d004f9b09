import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng, readPng, rgbaToRgb, type EditedKeyframe, type EditSpec, type RgbFrame } from '@streamedit/pipeline';
import { editKeyframes, toEditSpec } from '../jobs/job-edit-spec';
import type { StageContext } from '../jobs/stages';
import type { JobKeys } from '../storage/keys';

export { editKeyframes, toEditSpec };

/** The edit with its uploaded images (keyframes, overlay) downloaded into `dir`. */
export async function downloadEdit(ctx: StageContext, dir: string): Promise<EditSpec> {
  await mkdir(dir, { recursive: true });
  const keys =
    ctx.job.edit.kind === 'keyframes'
      ? ctx.job.edit.keyframes.map((k) => k.key)
      : ctx.job.edit.kind === 'overlay'
        ? [ctx.job.edit.key]
        : [];
  const paths = new Map(keys.map((key, i) => [key, join(dir, `image-${i}.png`)]));
  for (const [key, path] of paths) await ctx.store.downloadToFile(key, path);
  return toEditSpec(ctx.job.edit, (key) => paths.get(key)!);
}

/**
 * Where the edited keyframe of frame `at` is kept, at working size. The analyze stage resolves the edit ONCE (a
 * prompt edit calls the image-editing endpoint once) and every render window reads the same pixels.
 */
export function editedKeyframeKey(keys: JobKeys, at: number): string {
  return keys.file('edit', `edited-${at}.png`);
}

/** Where the edited keyframe of frame `at` is kept at the source size (what the output is rendered from). */
export function sourceKeyframeKey(keys: JobKeys, at: number): string {
  return keys.file('edit', `edited-${at}-source.png`);
}

/** Stores the resolved edit at both sizes (see {@link editedKeyframeKey}, {@link sourceKeyframeKey}). */
export async function storeEditedKeyframes(ctx: StageContext, edits: readonly EditedKeyframe[]): Promise<void> {
  for (const e of edits) {
    await ctx.store.putBuffer(editedKeyframeKey(ctx.keys, e.at), encodePng(e.edited), { contentType: 'image/png' });
    if (e.source)
      await ctx.store.putBuffer(sourceKeyframeKey(ctx.keys, e.at), encodePng(e.source.edited), {
        contentType: 'image/png',
      });
  }
}

/** The resolved edit by frame index, read back from storage (`size`: working [default] or source). */
export async function loadEditedKeyframes(
  ctx: StageContext,
  dir: string,
  size: 'working' | 'source' = 'working',
): Promise<Map<number, RgbFrame>> {
  const out = new Map<number, RgbFrame>();
  const key = size === 'working' ? editedKeyframeKey : sourceKeyframeKey;
  for (const at of editKeyframes(ctx.job.edit))
    out.set(at, await downloadPng(ctx, key(ctx.keys, at), join(dir, `edited-${at}-${size}.png`)));
  return out;
}

/** A stored PNG as an RGB frame (via a local file in the work dir). */
export async function downloadPng(ctx: StageContext, key: string, path: string): Promise<RgbFrame> {
  await ctx.store.downloadToFile(key, path);
  return rgbaToRgb(await readPng(path));
}
