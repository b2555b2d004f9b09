import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hdtfReport, type HdtfRow, type ReconstructionResult } from '@streamedit/pipeline';

/** One CSV line's cells (quoted cells may hold commas). */
const csvCells = (line: string): string[] =>
  [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1]!.replace(/^"|"$/g, '')).slice(0, -1);

const scores = (psnr: number) => ({ frames: 10, psnr, ssim: 0.9, ssimPercent: 90 });

/** A reconstruction with the fields the report reads; the rest of the result plays no part in it. */
function result(psnr: number, split?: { fitted: number; unseen: number; fullyFitted: number }): ReconstructionResult {
  return {
    frames: 300,
    references: 1,
    referenceBudget: 6,
    all: scores(psnr),
    timingsMs: { total: 60_000 },
    streaming: split && {
      trainFrames: 180,
      fitted: scores(split.fitted),
      unseen: scores(split.unseen),
      unseenFullyFitted: scores(split.fullyFitted),
      references: 1,
      windows: [],
    },
  } as Partial<ReconstructionResult> as ReconstructionResult;
}

test('HDTF report: the streaming split is compared with the same frames fitted, per clip and on average', () => {
  const rows: HdtfRow[] = [
    { clip: 'a', full: result(38, { fitted: 39, unseen: 36.5, fullyFitted: 37 }), dis: { skipped: 'no cv2' } },
    { clip: 'b', full: result(36, { fitted: 37, unseen: 35.25, fullyFitted: 35 }), dis: { skipped: 'no cv2' } },
  ];
  const csv = hdtfReport(rows).csv.trim().split('\n').map(csvCells);
  const column = csv[0]!.indexOf('split Δ vs same frames');
  assert.ok(column > 0, 'the report has the column');
  assert.deepEqual(
    csv.slice(1).map((row) => row[column]),
    ['-0.50', '0.25', '-0.13'],
    'unseen − fully fitted, per clip, then the mean',
  );
  assert.match(hdtfReport(rows).markdown, /split Δ vs same frames/);
});
