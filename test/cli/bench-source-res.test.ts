import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_FLOW_UPSAMPLING } from '@streamedit/pipeline';
import { sourceResTable, type SourceResRow } from '../../apps/cli/src/bench/source-res';

// Figures of the shape of a run on lp_s18 (docs/benchmarks.md): the lifts and the product differ by tenths of a dB
// or more, so a margin taken from the wrong column shows.
const row = (product: SourceResRow['product']): SourceResRow => ({
  clip: 'lp_s18_portrait_indoor_1280x720.mp4',
  frames: 282,
  source: { width: 1280, height: 720 },
  working: { width: 512, height: 288 },
  references: 1,
  iterations: 1000,
  guided: { psnr: 32.92, ssimPercent: 94.9 },
  bilinear: { psnr: 33.98, ssimPercent: 95.6 },
  product,
  naive: { psnr: 34.6, ssimPercent: 96.8 },
  naiveExactDetail: { psnr: 35.9, ssimPercent: 98.1 },
  workingSize: { psnr: 36.35, ssimPercent: 97.4 },
  dis: { psnr: 24.46, ssimPercent: 91.9, refsPer100: 0.4, fps: 4.5, wallMs: 63747 },
  liftMs: { guided: 860.8, bilinear: 822.5, product: 901.2 },
});

/** The cells of the table's data row, by header. */
function cells(table: string): Record<string, string> {
  const lines = table.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('|-'));
  const split = (l: string) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
  const [head, data] = [split(lines[0]!), split(lines[1]!)];
  return Object.fromEntries(head.map((h, i) => [h, data[i]!]));
}

test('bench source-res: the margins over DIS and naive are the product’s (its lift and detail gate), not a lift column’s', () => {
  assert.equal(DEFAULT_FLOW_UPSAMPLING, 'bilinear');
  const gated = cells(
    sourceResTable([row({ lift: 'bilinear', gated: true, scores: { psnr: 34.5, ssimPercent: 96.2 } })]),
  );
  assert.equal(gated['product'], 'bilinear lift + detail gate');
  assert.equal(gated['product PSNR / SSIM'], '34.50 / 96.2');
  assert.equal(gated['Δ naive dB'], '-0.10');
  assert.equal(gated['Δ DIS dB'], '10.04');
  assert.equal(gated['naive + exact detail'], '35.90 / 98.1');
  assert.equal(gated['exact detail − naive dB'], '1.30');
  const plain = cells(
    sourceResTable([row({ lift: 'guided', gated: false, scores: { psnr: 32.92, ssimPercent: 94.9 } })]),
  );
  assert.equal(plain['product'], 'guided lift');
  assert.equal(plain['Δ naive dB'], '-1.68');
  assert.equal(plain['Δ DIS dB'], '8.46');
});
