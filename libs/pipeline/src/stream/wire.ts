import * as jpeg from 'jpeg-js';
import { InputError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';

/**
 * The binary frame message of the stream API (both directions), little-endian:
 *
 * ```
 * offset size
 *   0     4   magic "SEF1"
 *   4     2   width  (u16)
 *   6     2   height (u16)
 *   8     1   format: 0 = raw RGB24 (width·height·3 bytes, row-major), 1 = JPEG (baseline, any quality)
 *   9     3   reserved, 0
 *  12     4   frame index (u32): the client's number, echoed on the edited frame
 *  16     …   pixels
 * ```
 */
export const FRAME_MAGIC = 'SEF1';
export const FRAME_HEADER_BYTES = 16;
export const FRAME_FORMATS = ['rgb', 'jpeg'] as const;
export type FrameFormat = (typeof FRAME_FORMATS)[number];

/** A frame message that cannot be read (bad magic, a short or long payload, an undecodable JPEG). */
export class MalformedFrameError extends InputError {}

export interface FrameMessage {
  readonly width: number;
  readonly height: number;
  readonly format: FrameFormat;
  readonly index: number;
  readonly payload: Uint8Array;
}

/** Header + payload as one buffer. */
export function encodeFrameMessage(m: FrameMessage): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_BYTES + m.payload.length);
  out.write(FRAME_MAGIC, 0, 'ascii');
  out.writeUInt16LE(m.width, 4);
  out.writeUInt16LE(m.height, 6);
  out.writeUInt8(FRAME_FORMATS.indexOf(m.format), 8);
  out.writeUInt32LE(m.index, 12);
  out.set(m.payload, FRAME_HEADER_BYTES);
  return out;
}

/** Parses the header; the payload is checked by {@link frameFromMessage}. @throws MalformedFrameError */
export function decodeFrameMessage(data: Uint8Array): FrameMessage {
  if (data.length < FRAME_HEADER_BYTES)
    throw new MalformedFrameError(
      `A frame message has ${data.length} bytes, fewer than its ${FRAME_HEADER_BYTES}-byte header: send "SEF1" + width, height, format, index, then the pixels.`,
    );
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.toString('ascii', 0, 4) !== FRAME_MAGIC)
    throw new MalformedFrameError(
      `A frame message does not start with "${FRAME_MAGIC}": send the stream API's frame header before the pixels.`,
    );
  const format = FRAME_FORMATS[buf.readUInt8(8)];
  if (!format)
    throw new MalformedFrameError(`A frame message has format ${buf.readUInt8(8)}: use 0 (raw RGB) or 1 (JPEG).`);
  return {
    width: buf.readUInt16LE(4),
    height: buf.readUInt16LE(6),
    format,
    index: buf.readUInt32LE(12),
    payload: data.subarray(FRAME_HEADER_BYTES),
  };
}

/** The frame a message carries, checked against its header. @throws MalformedFrameError */
export function frameFromMessage(m: FrameMessage): RgbFrame {
  if (m.width === 0 || m.height === 0)
    throw new MalformedFrameError(
      `Frame ${m.index} declares a ${m.width}×${m.height} size: give its real width and height.`,
    );
  if (m.format === 'rgb') {
    const expected = m.width * m.height * 3;
    if (m.payload.length !== expected)
      throw new MalformedFrameError(
        `Frame ${m.index} has ${m.payload.length} bytes of RGB, a ${m.width}×${m.height} frame needs ${expected}.`,
      );
    return createFrame(m.width, m.height, new Uint8Array(m.payload));
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(m.payload, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: 64,
      maxMemoryUsageInMB: 256,
    });
  } catch (err) {
    throw new MalformedFrameError(
      `Frame ${m.index} is not a readable JPEG (${(err as Error).message}): send a baseline JPEG or raw RGB.`,
    );
  }
  if (decoded.width !== m.width || decoded.height !== m.height)
    throw new MalformedFrameError(
      `Frame ${m.index} is a ${decoded.width}×${decoded.height} JPEG but its header says ${m.width}×${m.height}.`,
    );
  return createFrame(decoded.width, decoded.height, decoded.data);
}

/** A frame as a message in `format` (JPEG at `quality`, default 90). */
export function frameToMessage(frame: RgbFrame, index: number, format: FrameFormat, quality = 90): Buffer {
  if (format === 'rgb')
    return encodeFrameMessage({ width: frame.width, height: frame.height, format, index, payload: frame.data });
  const rgba = new Uint8Array(frame.width * frame.height * 4);
  for (let i = 0, j = 0; i < frame.data.length; i += 3, j += 4) {
    rgba[j] = frame.data[i]!;
    rgba[j + 1] = frame.data[i + 1]!;
    rgba[j + 2] = frame.data[i + 2]!;
    rgba[j + 3] = 255;
  }
  const payload = jpeg.encode({ width: frame.width, height: frame.height, data: rgba }, quality).data;
  return encodeFrameMessage({ width: frame.width, height: frame.height, format, index, payload });
}
