/**
 * The pure parts of live sessions: the bounded input queue and its policies, online ARR's budget, the stream API's
 * frame messages (RGB and JPEG), the uncertainty score, latency percentiles.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BoundedQueue,
  createFrame,
  decodeFrameMessage,
  encodeFrameMessage,
  frameFromMessage,
  frameToMessage,
  MalformedFrameError,
  OnlineArr,
  AnalysisPacer,
  psnr,
  QueueClosedError,
  summarizeLatencies,
  uncertainFraction,
} from '@streamedit/pipeline';

describe('BoundedQueue', () => {
  test('block: the producer waits for room; items keep their order', async () => {
    const q = new BoundedQueue<number>(2, 'block');
    await q.push(1);
    await q.push(2);
    let third = false;
    const pending = q.push(3).then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(third, false, 'a full queue holds the producer');
    assert.equal(await q.shift(), 1);
    await pending;
    assert.equal(third, true);
    q.close();
    assert.deepEqual([await q.shift(), await q.shift(), await q.shift()], [2, 3, undefined]);
  });

  test('drop-oldest: the oldest waiting item goes to onDrop, the new one is queued at once', async () => {
    const dropped: number[] = [];
    const q = new BoundedQueue<number>(2, 'drop-oldest', (n) => dropped.push(n));
    for (const n of [1, 2, 3, 4]) await q.push(n);
    assert.deepEqual(dropped, [1, 2]);
    q.close();
    assert.deepEqual([await q.shift(), await q.shift(), await q.shift()], [3, 4, undefined]);
  });

  test('close(discard) rejects blocked producers and wakes a waiting consumer', async () => {
    const q = new BoundedQueue<number>(1, 'block');
    const waiting = q.shift();
    await q.push(1);
    assert.equal(await waiting, 1, 'a waiting consumer gets the item directly');
    await q.push(2);
    const blocked = q.push(3);
    q.close(true);
    await assert.rejects(blocked, QueueClosedError);
    await assert.rejects(q.push(4), QueueClosedError);
    assert.equal(await q.shift(), undefined, 'discarded: nothing left');
    const idle = new BoundedQueue<number>(1, 'block');
    const sleeper = idle.shift();
    idle.close();
    assert.equal(await sleeper, undefined, 'a consumer waiting on an empty queue wakes up at close');
  });
});

describe('OnlineArr', () => {
  test('a score above the threshold replaces the reference, within the budget per 100 frames', () => {
    const arr = new OnlineArr({ threshold: 0.1, maxWindow: Number.POSITIVE_INFINITY, budgetPer100: 2, persistence: 1 });
    assert.equal(arr.decide(5, 5, 0.1), undefined, 'equal to the threshold is not above it');
    assert.deepEqual(arr.decide(6, 6, 0.2), { cause: 'uncertainty', score: 0.2 });
    arr.accept(6);
    arr.accept(20);
    assert.equal(arr.decide(30, 10, 0.9), undefined, 'two replacements in the last 100 frames: over budget');
    assert.deepEqual(arr.decide(106, 86, 0.9), { cause: 'uncertainty', score: 0.9 }, 'frame 6 has left the window');
    assert.equal(arr.replacements, 2);
  });

  test('the maximum window length forces a replacement', () => {
    const arr = new OnlineArr({ threshold: 0.5, maxWindow: 10, budgetPer100: 5, persistence: 1 });
    assert.equal(arr.decide(9, 9, 0), undefined);
    assert.deepEqual(arr.decide(10, 10, 0.01), { cause: 'max-length', score: 0.01 });
  });

  test('a limit in all (a replay keeps the per-video budget) holds on top of the sliding one', () => {
    const arr = new OnlineArr(
      { threshold: 0.1, maxWindow: Number.POSITIVE_INFINITY, budgetPer100: 2, persistence: 1 },
      1,
    );
    assert.deepEqual(arr.decide(3, 3, 0.5), { cause: 'uncertainty', score: 0.5 });
    arr.accept(3);
    assert.equal(arr.decide(250, 247, 0.9), undefined, 'the sliding budget has room, the limit has not');
    assert.equal(new OnlineArr(undefined, 0).decide(1, 1, 1), undefined, 'a limit of 0 never replaces');
  });
});

describe('frame messages', () => {
  const frame = createFrame(
    16,
    8,
    Uint8Array.from({ length: 16 * 8 * 3 }, (_, i) => (i * 37) % 256),
  );

  test('raw RGB round-trips with its index', () => {
    const m = decodeFrameMessage(frameToMessage(frame, 4242, 'rgb'));
    assert.deepEqual([m.width, m.height, m.format, m.index], [16, 8, 'rgb', 4242]);
    assert.deepEqual(frameFromMessage(m).data, frame.data);
  });

  test('JPEG round-trips close to the original', () => {
    const smooth = createFrame(
      32,
      32,
      Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => Math.floor(i / 3 / 32) * 6 + 20),
    );
    const m = decodeFrameMessage(frameToMessage(smooth, 1, 'jpeg', 95));
    assert.equal(m.format, 'jpeg');
    const back = frameFromMessage(m);
    assert.deepEqual([back.width, back.height], [32, 32]);
    assert.ok(psnr(back, smooth) > 35, `JPEG PSNR ${psnr(back, smooth)}`);
  });

  test('malformed messages are MalformedFrameErrors that say what is wrong', () => {
    assert.throws(() => decodeFrameMessage(new Uint8Array(5)), /fewer than its 16-byte header/);
    const bad = frameToMessage(frame, 0, 'rgb');
    bad.write('NOPE', 0, 'ascii');
    assert.throws(() => decodeFrameMessage(bad), MalformedFrameError);
    const short = encodeFrameMessage({
      width: 16,
      height: 8,
      format: 'rgb',
      index: 3,
      payload: frame.data.subarray(0, 100),
    });
    assert.throws(
      () => frameFromMessage(decodeFrameMessage(short)),
      /Frame 3 has 100 bytes of RGB, a 16×8 frame needs 384/,
    );
    const notJpeg = encodeFrameMessage({ width: 16, height: 8, format: 'jpeg', index: 7, payload: new Uint8Array(64) });
    assert.throws(() => frameFromMessage(decodeFrameMessage(notJpeg)), /Frame 7 is not a readable JPEG/);
    const lying = decodeFrameMessage(frameToMessage(frame, 9, 'jpeg'));
    assert.throws(() => frameFromMessage({ ...lying, width: 20 }), /16×8 JPEG but its header says 20×8/);
  });
});

test('uncertainFraction counts only person pixels, like the trainer’s scores', () => {
  const sigma = { width: 4, height: 1, data: Float32Array.of(0.5, 0.01, 0.5, 0.5) };
  assert.equal(uncertainFraction(sigma, Uint8Array.of(1, 1, 0, 0), 0.08), 0.5);
  assert.equal(uncertainFraction(sigma, Uint8Array.of(0, 0, 0, 0), 0.08), 0, 'no person: nothing is uncertain');
});

test('summarizeLatencies gives nearest-rank percentiles', () => {
  const s = summarizeLatencies(Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual([s.p50Ms, s.p95Ms, s.maxMs, s.meanMs], [50, 95, 100, 50.5]);
  assert.equal(summarizeLatencies([]).count, 0);
});

test('AnalysisPacer: the next analysis starts when it will end with the current edit, at once when analysis is the slower stage', async () => {
  const pacer = new AnalysisPacer();
  await pacer.turn(); // the first frame goes at once
  let started = false;
  const next = pacer.turn().then(() => (started = true));
  pacer.analyzed(10);
  pacer.edited(120); // edits take 120 ms, analyses 10: start the next one ~110 ms into this edit
  pacer.editStarted();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(started, false, 'not 30 ms into a 120 ms edit');
  await next;
  const analysisBound = new AnalysisPacer();
  await analysisBound.turn();
  analysisBound.analyzed(200); // analyses take longer than edits: no wait
  analysisBound.edited(50);
  analysisBound.editStarted();
  const t0 = performance.now();
  await analysisBound.turn();
  assert.ok(performance.now() - t0 < 50);
  let released = false;
  const waiting = pacer.turn().then(() => (released = true));
  pacer.close();
  await waiting;
  assert.ok(released, 'close releases a waiting turn');
  await pacer.turn();
});
