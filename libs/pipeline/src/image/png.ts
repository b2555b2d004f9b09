import { readFile, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { InputError } from '../errors';
import { createFrame, type RgbFrame } from './frame';

/** An RGBA image as read from a PNG (straight alpha). */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  /** Whether the file carried an alpha channel (colour type 4 or 6, or tRNS). */
  readonly hasAlpha: boolean;
}

export async function readPng(path: string): Promise<RgbaImage> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch {
    throw new InputError(`Cannot read image ${path}: check that the file exists and is readable.`);
  }
  try {
    const png = PNG.sync.read(buf);
    return { width: png.width, height: png.height, data: new Uint8Array(png.data), hasAlpha: png.alpha };
  } catch {
    throw new InputError(`${path} is not a PNG image: give a PNG file.`);
  }
}

export function rgbaToRgb(img: RgbaImage): RgbFrame {
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
    out[i] = img.data[j]!;
    out[i + 1] = img.data[j + 1]!;
    out[i + 2] = img.data[j + 2]!;
  }
  return createFrame(img.width, img.height, out);
}

export function encodePng(frame: RgbFrame): Buffer {
  const png = new PNG({ width: frame.width, height: frame.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

export async function writePng(path: string, frame: RgbFrame): Promise<void> {
  await writeFile(path, encodePng(frame));
}
