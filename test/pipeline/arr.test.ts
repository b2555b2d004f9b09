import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameReferences, initialWindows, OnlineArr, referenceBudget, replaceReferences } from '@streamedit/pipeline';

const opts = { threshold: 0.2, maxWindow: Number.POSITIVE_INFINITY, budgetPer100: 2, persistence: 1 };

test('ARR: a frame whose uncertainty passes the threshold starts a new window', () => {
  const scores = new Float32Array(100).fill(0.05);
  for (let t = 60; t < 100; t++) scores[t] = 0.5;
  const w = replaceReferences(initialWindows(100), scores, opts);
  assert.deepEqual(
    w.map((x) => [x.reference, x.start, x.end, x.cause]),
    [
      [0, 0, 60, 'first'],
      [60, 60, 100, 'uncertainty'],
    ],
  );
  assert.equal(w[1]!.score, 0.5);
});

test('ARR: the reference budget always holds and the strongest splits win', () => {
  const scores = new Float32Array(50).fill(0.9); // every frame uncertain
  const w = replaceReferences(initialWindows(50), scores, opts);
  assert.equal(referenceBudget(50), 1);
  assert.equal(w.length, 1);
  const w2 = replaceReferences(initialWindows(300), new Float32Array(300).fill(0.9), opts);
  let windows = w2;
  for (let i = 0; i < 10; i++) windows = replaceReferences(windows, new Float32Array(300).fill(0.9), opts);
  assert.equal(windows.length, referenceBudget(300));
  assert.equal(windows.length, 6);
});

test('ARR: maximum window length S splits long windows', () => {
  const w = replaceReferences(initialWindows(100), new Float32Array(100), { ...opts, maxWindow: 30 });
  assert.deepEqual(w.map((x) => [x.reference, x.cause]), [
    [0, 'first'],
    [30, 'max-length'],
  ]);
});

test('ARR: user keyframes force references; frames before the first keyframe join its window', () => {
  const w = initialWindows(100, [20, 70]);
  assert.deepEqual(w.map((x) => [x.reference, x.start, x.end, x.cause]), [
    [20, 0, 70, 'keyframe'],
    [70, 70, 100, 'keyframe'],
  ]);
  const refs = frameReferences(w, 100);
  assert.equal(refs[0], 20);
  assert.equal(refs[69], 20);
  assert.equal(refs[99], 70);
});

test('ARR: a spike shorter than `persistence` keeps the reference; a lasting rise replaces it, offline and online alike', () => {
  const scores = new Float32Array(100).fill(0.05);
  for (let t = 20; t < 24; t++) scores[t] = 0.6; // a blink-length spike: 4 frames
  for (let t = 50; t < 100; t++) scores[t] = 0.4; // new content that stays
  const persistent = { ...opts, persistence: 5 };
  const w = replaceReferences(initialWindows(100), scores, persistent);
  assert.deepEqual(
    w.map((x) => [x.reference, x.cause, x.score]),
    [
      [0, 'first', undefined],
      [54, 'uncertainty', scores[54]],
    ],
    'the fifth frame of the lasting run, not the spike',
  );
  const online = new OnlineArr(persistent);
  const decided: number[] = [];
  for (let t = 1; t < 100; t++) {
    if (online.decide(t, t, scores[t]!)) {
      online.accept(t);
      decided.push(t);
      break;
    }
  }
  assert.deepEqual(decided, [54], 'online ARR picks the same frame without looking ahead');
  assert.equal(replaceReferences(initialWindows(100), scores, opts)[1]!.reference, 20, 'persistence 1: the spike');
});
