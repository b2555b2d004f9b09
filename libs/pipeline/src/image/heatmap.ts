import { createFrame, type FloatImage, type RgbFrame } from './frame';

/** A perceptual dark-blue → cyan → yellow → red ramp for σ maps (no lookup files). */
function ramp(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const r = Math.min(1, Math.max(0, 1.5 * x - 0.25 + 0.6 * x * x));
  const g = Math.min(1, Math.max(0, Math.sin(Math.PI * x) * 0.95 + 0.05 * x));
  const b = Math.min(1, Math.max(0, 0.55 + 0.9 * x - 2.1 * x * x));
  return [r * 255, g * 255, b * 255];
}

/** Renders an uncertainty map as colours, σ = 0 dark blue … σ ≥ `max` red. Default max 0.25 (intensity units). */
export function heatmap(map: FloatImage, max = 0.25): RgbFrame {
  const out = new Uint8Array(map.width * map.height * 3);
  for (let i = 0; i < map.data.length; i++) {
    const [r, g, b] = ramp(map.data[i]! / max);
    out[3 * i] = r;
    out[3 * i + 1] = g;
    out[3 * i + 2] = b;
  }
  return createFrame(map.width, map.height, out);
}

/** Lays out tiles (same size each) in rows, with a 4 px dark gutter; missing cells stay dark. */
export function contactSheet(rows: ReadonlyArray<ReadonlyArray<RgbFrame>>, tileWidth: number, tileHeight: number): RgbFrame {
  const gutter = 4;
  const cols = Math.max(...rows.map((r) => r.length));
  const width = cols * (tileWidth + gutter) + gutter;
  const height = rows.length * (tileHeight + gutter) + gutter;
  const out = new Uint8Array(width * height * 3).fill(24);
  rows.forEach((row, ri) =>
    row.forEach((tile, ci) => {
      if (tile.width !== tileWidth || tile.height !== tileHeight) throw new RangeError('contact sheet tiles must share one size');
      const x0 = gutter + ci * (tileWidth + gutter);
      const y0 = gutter + ri * (tileHeight + gutter);
      for (let y = 0; y < tileHeight; y++) {
        out.set(tile.data.subarray(y * tileWidth * 3, (y + 1) * tileWidth * 3), ((y0 + y) * width + x0) * 3);
      }
    }),
  );
  return createFrame(width, height, out);
}
