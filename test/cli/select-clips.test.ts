import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isInputError } from '@streamedit/pipeline';
import { selectClips } from '../../apps/cli/src/bench/select-clips';

const NAMES = ['km720-s18', 'km720-s18-open', 'lp_d3_woman_expressions_512.mp4', 'lp_d30_other.mp4'];

test('selectClips: a whole name picks that clip only; a part picks every clip containing it; none given, the fallback', () => {
  assert.deepEqual(selectClips(NAMES, ['km720-s18']), ['km720-s18']);
  assert.deepEqual(selectClips(NAMES, ['km720-s18-open']), ['km720-s18-open']);
  assert.deepEqual(selectClips(NAMES, ['km720']), ['km720-s18', 'km720-s18-open']);
  // A file's name without its extension is whole too; a part still matches longer names.
  assert.deepEqual(selectClips(NAMES, ['lp_d3_woman_expressions_512']), ['lp_d3_woman_expressions_512.mp4']);
  assert.deepEqual(selectClips(NAMES, ['lp_d3']), ['lp_d3_woman_expressions_512.mp4', 'lp_d30_other.mp4']);
  // Order follows the names, not the filters; empty entries (a trailing comma) are ignored.
  assert.deepEqual(selectClips(NAMES, ['lp_d30_other', 'km720-s18', '']), ['km720-s18', 'lp_d30_other.mp4']);
  assert.deepEqual(selectClips(NAMES, undefined), NAMES);
  assert.deepEqual(selectClips(NAMES, [], ['open']), ['km720-s18-open']);
  assert.deepEqual(selectClips(NAMES, [], ['no-such']), []);
});

test('selectClips: filters that select nothing are a bad input naming them and the clips there are', () => {
  assert.throws(
    () => selectClips(NAMES, ['no-such', 'nor-this']),
    (e: unknown) =>
      isInputError(e) &&
      /--clips no-such,nor-this.*km720-s18, km720-s18-open, lp_d3_woman_expressions_512/.test(String(e)),
  );
});
