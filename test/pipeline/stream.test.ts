/**
 * Live sessions on a real fit (embedded `editVideo --work-dir`, tiny preset, 16 frames of the May clip at 256 px):
 * real Chromium landmarks, XFeat and the PPCE model in ONNX Runtime, the same per-frame render as offline. The live
 * output is compared with `propagateEdit` over the analysed video with the same model and the same references.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createFrame,
  decodeFrames,
  DEFAULT_PROPAGATION,
  editVideo,
  FrameStore,
  InputError,
  LiveEditSession,
  ModelCorrespondence,
  OnlineArr,
  propagateEdit,
  propagateOnline,
  psnr,
  readPng,
  resampleRgb,
  rgbaToRgb,
  SOURCE_SIZE,
  type EditedLiveFrame,
  type LiveEvent,
  type OnlineFrame,
  type PropagationOptions,
  type ReferenceWindow,
  type RgbFrame,
} from '@streamedit/pipeline';
import { CLIPS, clipPath } from '../support/clips';

const FRAMES = 16;
const SIDE = 256;

describe('LiveEditSession from a finished edit (real Chromium, ONNX, PyTorch; tiny preset)', () => {
  let dir = '';
  let workDir = '';
  const frames: RgbFrame[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stream-test-'));
    workDir = join(dir, 'work');
    await editVideo(clipPath('may'), { kind: 'look', name: 'cartoon' }, join(dir, 'offline.mp4'), {
      preset: 'tiny',
      maxFrames: FRAMES,
      maxSide: SIDE,
      workDir,
    });
    for await (const f of decodeFrames(clipPath('may'), { maxSide: SIDE, count: FRAMES })) frames.push(f);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    assert.equal(LiveEditSession.openSessions, 0, 'every session was closed');
  });

  /** Streams every frame (default: the working-size ones) through a session from the work dir; returns its output and events. */
  async function stream(
    arr: { threshold: number } | false,
    input: readonly RgbFrame[] = frames,
    propagation: Partial<PropagationOptions> = {},
  ): Promise<{ out: EditedLiveFrame[]; events: LiveEvent[] }> {
    const session = await LiveEditSession.fromWorkDir(workDir, {
      sameVideo: true,
      arr: arr && { threshold: arr.threshold, maxWindow: Number.POSITIVE_INFINITY, budgetPer100: 2, persistence: 1 },
      propagation,
    });
    const events: LiveEvent[] = [];
    session.on((e) => events.push(e));
    const out: EditedLiveFrame[] = [];
    try {
      const consumer = (async () => {
        for await (const f of session.frames()) out.push(f);
      })();
      for (const f of input) await session.push(f);
      session.end();
      await consumer;
      assert.deepEqual(
        {
          received: session.stats().received,
          edited: session.stats().edited,
          dropped: session.stats().dropped,
          state: session.stats().state,
        },
        { received: FRAMES, edited: FRAMES, dropped: 0, state: 'ended' },
      );
    } finally {
      await session.close();
    }
    return { out, events };
  }

  /**
   * propagateEdit over the analysed frames with the live session's references (window 0: the user's keyframe); with
   * `full` (the source-size frames), rendered at the source size as `streamedit edit` renders. Without the temporal
   * edit flow: a live session cannot look ahead, so that is the offline render it must match.
   */
  async function offline(
    references: readonly number[],
    full?: readonly RgbFrame[],
    propagation: Partial<PropagationOptions> = {},
  ): Promise<RgbFrame[]> {
    const refs = [0, ...references];
    const windows: ReferenceWindow[] = refs.map((r, i) => ({
      reference: r,
      start: i === 0 ? 0 : r,
      end: refs[i + 1] ?? FRAMES,
      cause: i === 0 ? 'keyframe' : 'uncertainty',
    }));
    const store = await FrameStore.open(join(workDir, 'frames'));
    const correspondence = await ModelCorrespondence.open(workDir, join(workDir, 'model', 'model.onnx'));
    const edited = rgbaToRgb(await readPng(join(workDir, 'edits', 'ref-0.png')));
    const editedFull = full && rgbaToRgb(await readPng(join(workDir, 'edits', 'ref-0-source.png')));
    const images: RgbFrame[] = [];
    try {
      for await (const f of propagateEdit(
        {
          frameAt: (i) => store.read(i),
          windows,
          edits: new Map([[0, edited]]),
          correspondence,
          sourceFrameAt: full && (async (i) => full[i]!),
          sourceEdits: editedFull && new Map([[0, editedFull]]),
        },
        { ...DEFAULT_PROPAGATION, temporalEditFlow: 'off', ...propagation },
      ))
        images.push(f.image);
    } finally {
      await correspondence.close();
      store.close();
    }
    return images;
  }

  /** propagateOnline over the analysed frames 1… from the user's keyframe at 0, with the live session's ARR rule. */
  async function replayOnline(threshold: number): Promise<OnlineFrame[]> {
    const store = await FrameStore.open(join(workDir, 'frames'));
    const correspondence = await ModelCorrespondence.open(workDir, join(workDir, 'model', 'model.onnx'));
    const edited = rgbaToRgb(await readPng(join(workDir, 'edits', 'ref-0.png')));
    const out: OnlineFrame[] = [];
    try {
      const start = { index: 0, original: await store.read(0), edited };
      const arr = new OnlineArr({ threshold, maxWindow: Number.POSITIVE_INFINITY, budgetPer100: 2, persistence: 1 });
      const input = { frameAt: (i: number) => store.read(i), scored: correspondence.scored.bind(correspondence) };
      for await (const f of propagateOnline(input, start, { start: 1, end: FRAMES }, arr, DEFAULT_PROPAGATION))
        out.push(f);
    } finally {
      await correspondence.close();
      store.close();
    }
    return [
      { index: 0, window: 0, image: edited, isReference: true, synthesized: 0, synthesisMs: 0, score: 0 },
      ...out,
    ];
  }

  function assertMatchesOffline(out: readonly EditedLiveFrame[], expected: readonly RgbFrame[]): void {
    assert.deepEqual(
      out.map((f) => f.index),
      Array.from({ length: FRAMES }, (_, i) => i),
      'every frame comes back, in order',
    );
    for (const f of out) {
      const db = psnr(f.image, expected[f.index]!);
      assert.ok(db >= 40, `frame ${f.index}: live vs offline ${db.toFixed(2)} dB`);
    }
  }

  test('frames come back in order and match the offline render; ARR replaces the reference where the uncertainty first passes the threshold, as the offline replay does', async () => {
    const fixed = await stream(false);
    assert.equal(fixed.events.filter((e) => e.type === 'reference-replaced').length, 0);
    assertMatchesOffline(fixed.out, await offline([]));
    assert.ok(fixed.out[0]!.isReference, 'frame 0 is the fitted reference: it comes out as the user’s edit');
    assert.ok(psnr(fixed.out[5]!.image, frames[5]!) < 35, 'the edit is applied (the output is not the input)');

    // A threshold between the scores of this clip: the first frame above it must become the reference.
    const scores = fixed.out.map((f) => f.score);
    const threshold = [...scores.slice(2)].sort((a, b) => a - b)[Math.floor((FRAMES - 2) / 2)]! - 1e-6;
    const first = scores.findIndex((s, i) => i > 0 && s > threshold);
    const replaced = await stream({ threshold });
    const events = replaced.events.filter(
      (e): e is Extract<LiveEvent, { type: 'reference-replaced' }> => e.type === 'reference-replaced',
    );
    assert.ok(events.length >= 1 && events.length <= 2, `${events.length} replacements within the budget of 2`);
    assert.equal(events[0]!.frame, first, `the first frame whose score passes ${threshold.toFixed(4)}`);
    assert.ok(
      events[0]!.score > threshold && Math.abs(events[0]!.score - scores[first]!) < 1e-6,
      'the event carries the frame’s score',
    );
    assert.equal(events[0]!.cause, 'uncertainty');
    assert.ok(replaced.out[first]!.isReference);
    assertMatchesOffline(replaced.out, await offline(events.map((e) => e.frame)));

    // The reconstruction protocol's streaming split replays live editing offline (propagateOnline): same decisions.
    const replay = await replayOnline(threshold);
    assert.deepEqual(
      replay.filter((f) => f.isReference && f.index > 0).map((f) => f.index),
      events.map((e) => e.frame),
      'the replay replaces the reference at the same frames',
    );
    for (const f of replay) {
      const live = replaced.out[f.index]!.score;
      assert.ok(Math.abs(f.score - live) < 0.01, `frame ${f.index}: score ${f.score} vs live ${live}`);
      const db = psnr(f.image, replaced.out[f.index]!.image);
      assert.ok(db >= 40, `frame ${f.index}: replay vs live ${db.toFixed(2)} dB`);
    }
  });

  test('frames at the source size (512², working size 256) come back at 512² with the edit: as `edit` renders them offline at the source size, sharper than the working-size render upscaled', async () => {
    const full: RgbFrame[] = [];
    for await (const f of decodeFrames(clipPath('may'), { maxSide: SOURCE_SIZE, count: FRAMES })) full.push(f);
    assert.deepEqual(
      [full[0]!.width, frames[0]!.width],
      [CLIPS.may.width, SIDE],
      'the source is larger than the working size',
    );
    const encoded: RgbFrame[] = [];
    for await (const f of decodeFrames(join(dir, 'offline.mp4'), { maxSide: SOURCE_SIZE })) encoded.push(f);

    // Without the detail gate, which fades full-size detail the frame does not confirm toward the working-size band:
    // with it the working-size render upscaled came within 32.5–33.4 dB of the offline render (29.5–30.9 without),
    // as close as the live render on frames 9–11 (33.0–33.5; measured 2026-12-07), so sharpness could not be told
    // apart. Here the detail itself is checked; the ARR part below runs with the default gate.
    const sharp = { detail: 'off' } as const;
    const fixed = await stream(false, full, sharp);
    const ready = fixed.events.find((e) => e.type === 'ready');
    assert.deepEqual(
      ready && { width: ready.width, height: ready.height, working: ready.working },
      { width: 512, height: 512, working: { width: SIDE, height: SIDE } },
      'ready reports the output (source) size and the working size',
    );
    const working = await stream(false);
    const expected = await offline([], full, sharp);
    // The session analyses its own area downscale of each 512² frame (48.5 dB from the ffmpeg downscale the offline
    // analysis read), so its flow differs a little from offline's: measured 31.4–36.7 dB against the offline render
    // at the source size (2026-12-07; 32.8–35.3 before the edge-aware Horn-Schunck window, whose textured pixels
    // follow their own data term and with it the two downscales' differences), where the working-size render
    // upscaled is 29.5–30.9 dB and the unedited input ~22 dB. Since the fine pass's light damping off the face
    // (session 38), which follows each path's own downscale there, 31.0–36.4 dB (the lowest frame 31.4 → 31.0;
    // frame 11 is 0.87 dB over the upscaled render). Each of 30.5 dB a frame, +0.5 dB a frame and +2 dB on average
    // over the upscaled render, and < 25 dB from the input fails a working-size or unedited result.
    const report: string[] = [];
    const rows = fixed.out.map((f) => {
      assert.deepEqual([f.image.width, f.image.height], [512, 512], `frame ${f.index} comes back at the source size`);
      const vsOffline = psnr(f.image, expected[f.index]!);
      const vsEncoded = psnr(f.image, encoded[f.index]!);
      const upscaled = psnr(resampleRgb(working.out[f.index]!.image, 512, 512), expected[f.index]!);
      const vsInput = psnr(f.image, full[f.index]!);
      report.push(
        `${f.index}: ${vsOffline.toFixed(1)} ${vsEncoded.toFixed(1)} ${upscaled.toFixed(1)} ${vsInput.toFixed(1)}`,
      );
      return { f, vsOffline, upscaled, vsInput };
    });
    console.log(
      `frame: live vs offline render / vs offline mp4 / working-size live upscaled vs offline / live vs input (dB)\n${report.join('\n')}`,
    );
    for (const { f, vsOffline, upscaled, vsInput } of rows) {
      assert.ok(vsOffline >= 30.5, `frame ${f.index}: live vs offline at the source size ${vsOffline.toFixed(2)} dB`);
      assert.ok(
        f.index === 0 || vsOffline >= upscaled + 0.5,
        `frame ${f.index}: ${vsOffline.toFixed(2)} dB, the working-size render upscaled ${upscaled.toFixed(2)} dB`,
      );
      assert.ok(vsInput < 25, `frame ${f.index} is edited (${vsInput.toFixed(2)} dB from its input)`);
    }
    const later = rows.slice(1);
    const mean = (key: 'vsOffline' | 'upscaled'): number => later.reduce((a, r) => a + r[key], 0) / later.length;
    assert.ok(
      mean('vsOffline') >= mean('upscaled') + 2,
      `on average ${mean('vsOffline').toFixed(2)} dB, the working-size render upscaled ${mean('upscaled').toFixed(2)} dB`,
    );
    const keyframe = rgbaToRgb(await readPng(join(workDir, 'edits', 'ref-0-source.png')));
    assert.ok(psnr(fixed.out[0]!.image, keyframe) >= 99, 'frame 0 is the source-size keyframe edit, as is');

    // Online ARR at the source size: the new references are carried at the source size (carryReference), as offline
    // (measured 31.5–37.1 dB per frame on 2026-12-07 before the detail gate, 33.6–38.8 with it).
    const scores = working.out.map((f) => f.score);
    const threshold = [...scores.slice(2)].sort((a, b) => a - b)[Math.floor((FRAMES - 2) / 2)]! - 1e-6;
    const replaced = await stream({ threshold }, full);
    const refs = replaced.events.flatMap((e) => (e.type === 'reference-replaced' ? [e.frame] : []));
    assert.ok(refs.length >= 1, 'the reference was replaced');
    const expectedArr = await offline(refs, full);
    const arrReport = replaced.out.map((f) => {
      assert.deepEqual([f.image.width, f.image.height], [512, 512]);
      const db = psnr(f.image, expectedArr[f.index]!);
      assert.ok(db >= 31, `frame ${f.index}${f.isReference ? ' (a new reference)' : ''}: ${db.toFixed(2)} dB`);
      return `${f.index}${f.isReference ? '*' : ''} ${db.toFixed(1)}`;
    });
    console.log(`with ARR (references ${refs.join(', ')}), live vs offline (dB): ${arrReport.join(', ')}`);
  });

  test('the model in a worker thread, each next frame prefetched while one renders: the same frames as in this thread', async () => {
    const store = await FrameStore.open(join(workDir, 'frames'));
    const edited = rgbaToRgb(await readPng(join(workDir, 'edits', 'ref-0.png')));
    const render = async (inWorker: boolean): Promise<{ images: Uint8Array[]; prefetched: number }> => {
      const correspondence = await ModelCorrespondence.open(workDir, join(workDir, 'model', 'model.onnx'), {
        inWorker,
      });
      let prefetched = 0;
      const source = {
        between: (ref: number, cur: number) => correspondence.between(ref, cur),
        prefetch: (ref: number, cur: number) => {
          prefetched++;
          correspondence.prefetch(ref, cur);
        },
      };
      const images: Uint8Array[] = [];
      try {
        // Synthesis off: its worker pool may order patch-match updates differently from run to run.
        for await (const f of propagateEdit(
          {
            frameAt: (i) => store.read(i),
            windows: [{ reference: 0, start: 0, end: FRAMES, cause: 'keyframe' }],
            edits: new Map([[0, edited]]),
            correspondence: source,
          },
          { ...DEFAULT_PROPAGATION, synthesis: 'off' },
        ))
          images.push(f.image.data);
      } finally {
        await correspondence.close();
      }
      return { images, prefetched };
    };
    try {
      const here = await render(false);
      const worker = await render(true);
      assert.equal(worker.images.length, FRAMES);
      assert.equal(worker.prefetched, FRAMES - 2, 'every frame after the first one asked for is prefetched');
      worker.images.forEach((img, i) => assert.deepEqual(img, here.images[i], `frame ${i}`));
    } finally {
      store.close();
    }
  });

  test('drop-oldest: a source faster than the session loses the oldest queued frames, never the order', async () => {
    const session = await LiveEditSession.fromWorkDir(workDir, {
      sameVideo: true,
      arr: false,
      policy: 'drop-oldest',
      queueCapacity: 1,
    });
    const dropped: number[] = [];
    session.on((e) => e.type === 'dropped' && dropped.push(e.frame));
    const out: number[] = [];
    try {
      const consumer = (async () => {
        for await (const f of session.frames()) out.push(f.index);
      })();
      for (const f of frames) await session.push(f); // resolves at once: nothing waits with drop-oldest
      session.end();
      await consumer;
    } finally {
      await session.close();
    }
    const stats = session.stats();
    assert.ok(stats.dropped > 0, 'some frames were dropped');
    assert.equal(stats.edited + stats.dropped, FRAMES);
    assert.deepEqual(
      [...out, ...dropped].sort((a, b) => a - b),
      Array.from({ length: FRAMES }, (_, i) => i),
      'each frame is edited or dropped, once',
    );
    assert.ok(
      out.every((v, i) => i === 0 || v > out[i - 1]!),
      'edited frames keep their order',
    );
    assert.equal(out.at(-1), FRAMES - 1, 'the newest frame is never the one dropped');
  });

  test('a frame of the wrong size is refused; close() mid-stream stops and releases the session', async () => {
    const session = await LiveEditSession.fromWorkDir(workDir, { arr: false });
    await assert.rejects(
      session.push(createFrame(128, 128)),
      (err: unknown) =>
        err instanceof InputError &&
        /128×128 but this session edits 256×256 \(its working size\) or 512×512 \(the source size\)/.test(err.message),
    );
    await assert.rejects(
      session.push(createFrame(2160, 4096)),
      (err: unknown) =>
        err instanceof InputError &&
        /2160×4096: the largest size edited is 3840×2160 \(either orientation\)/.test(err.message),
      'a frame above 4K is refused by its size (a JPEG that large can still fit one message)',
    );
    for (const f of frames.slice(0, 4)) await session.push(f);
    const it = session.frames();
    assert.equal((await it.next()).value?.index, 0);
    await session.close();
    const rest: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.index);
    assert.equal(rest.length, 0, 'queued frames are discarded by close()');
    await assert.rejects(session.push(frames[0]!), /ended or closed/);
    assert.equal(session.stats().state, 'closed');
  });
});
