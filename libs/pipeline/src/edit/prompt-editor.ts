import { PNG } from 'pngjs';
import { InputError } from '../errors';
import type { RgbFrame } from '../image/frame';
import { encodePng, rgbaToRgb } from '../image/png';
import { settings, type Settings } from '../settings';

/** Whether text-prompt edits can run here: an image-editing endpoint is configured (`STREAMEDIT_EDITOR_URL`). */
export function promptEditsAvailable(cfg: Settings = settings()): boolean {
  return Boolean(cfg.editorUrl);
}

/**
 * Text-prompt edits go to a configured HTTP image-editing endpoint (any model server): request
 * `POST {prompt, image: base64 PNG, width, height}` as JSON; response a PNG body, or JSON `{ image: base64 PNG }`.
 */
export async function requestPromptEdit(keyframe: RgbFrame, prompt: string, cfg: Settings = settings()): Promise<RgbFrame> {
  if (!cfg.editorUrl) throw new InputError('Prompt edits need an image-editing endpoint: set STREAMEDIT_EDITOR_URL.');
  let res: Response;
  try {
    res = await fetch(cfg.editorUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cfg.editorToken ? { authorization: `Bearer ${cfg.editorToken}` } : {}) },
      body: JSON.stringify({ prompt, image: encodePng(keyframe).toString('base64'), width: keyframe.width, height: keyframe.height }),
      signal: AbortSignal.timeout(cfg.editorTimeoutMs),
    });
  } catch (err) {
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new InputError(`The image-editing endpoint ${cfg.editorUrl} did not answer (${why}): check STREAMEDIT_EDITOR_URL and that the service runs.`);
  }
  if (!res.ok) {
    throw new InputError(`The image-editing endpoint answered HTTP ${res.status}: check the prompt and STREAMEDIT_EDITOR_URL.`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  const png = (res.headers.get('content-type') ?? '').includes('json') ? Buffer.from(parseJsonImage(body), 'base64') : body;
  try {
    const img = PNG.sync.read(png);
    return rgbaToRgb({ width: img.width, height: img.height, data: new Uint8Array(img.data), hasAlpha: img.alpha });
  } catch {
    throw new InputError('The image-editing endpoint answered something that is not a PNG image: check the service.');
  }
}

function parseJsonImage(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { image?: unknown };
    if (typeof parsed.image === 'string') return parsed.image;
  } catch {
    // fall through to the error below
  }
  throw new InputError('The image-editing endpoint answered JSON without an "image" field: check the service.');
}
