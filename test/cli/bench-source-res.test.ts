import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_FLOW_UPSAMPLING } from '@streamedit/pipeline';
import { sourceResTable, type SourceResRow } from '../../apps/cli/src/bench/source-res';

// The figures of the 2026-12-07 run on lp_s18 (docs/benchmarks.md): the two lifts differ by 1 dB, so a margin taken
// from the wrong column shows.
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
  workingSize: { psnr: 36.35, ssimPercent: 97.4 },
  dis: { psnr: 24.46, ssimPercent: 91.9, refsPer100: 0.4, fps: 4.5, wallMs: 63747 },
  liftMs: { guided: 860.8, bilinear: 822.5 },
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

test('bench source-res: the margins over DIS and naive are the product lift’s (bilinear by default), not the guided column’s', () => {
  assert.equal(DEFAULT_FLOW_UPSAMPLING, 'bilinear');
  const bilinear = cells(sourceResTable([row('bilinear')]));
  assert.equal(bilinear['product'], 'bilinear lift');
  assert.equal(bilinear['Δ naive dB'], '-0.62');
  assert.equal(bilinear['Δ DIS dB'], '9.52');
  const guided = cells(sourceResTable([row('guided')]));
  assert.equal(guided['Δ naive dB'], '-1.68');
  assert.equal(guided['Δ DIS dB'], '8.46');
});
