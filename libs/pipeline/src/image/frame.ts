/** One decoded video frame: interleaved 8-bit RGB, row-major, `data.length === width * height * 3`. */
export interface RgbFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function createFrame(width: number, height: number, data: Uint8Array = new Uint8Array(width * height * 3)): RgbFrame {
  if (data.length !== width * height * 3) {
    throw new RangeError(`RGB frame of ${width}×${height} needs ${width * height * 3} bytes, got ${data.length}`);
  }
  return { width, height, data };
}

/** A single-channel float image (flow component, uncertainty, mask), row-major. */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}
