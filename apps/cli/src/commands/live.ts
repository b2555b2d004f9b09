import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  decodeFrames,
  DEFAULT_ARR,
  InputError,
  LiveEditSession,
  liveOutputKind,
  openLiveSink,
  probeVideo,
  rawFrames,
  SOURCE_SIZE,
  type ArrOptions,
  type BackpressurePolicy,
  type EditedLiveFrame,
  type Fps,
  type LiveEvent,
  type LiveSessionOptions,
  type ProgressListener,
  type RgbFrame,
} from '@streamedit/pipeline';
import { progressBars } from '../progress';
import { action } from '../run-command';
import { addEditOptions, editSpecFrom, type EditFlags } from './edit-options';
import { parseCount, parsePreset, parseSynthesis, synthesisOption } from './options';

interface LiveFlags extends EditFlags {
  model?: string;
  input: string;
  output: string;
  size?: string;
  fps?: string;
  frames?: string;
  maxSide?: string;
  warmup?: string;
  preset: string;
  iterations?: string;
  workDir?: string;
  window?: string;
  sameVideo?: boolean;
  arr: boolean;
  arrThreshold?: string;
  budget?: string;
  arrPersistence?: string;
  synthesis: string;
  policy: string;
  queue: string;
  events?: boolean;
  progress: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('live')
    .description('edit frames as they arrive with a fitted model (a finished edit, or a warm-up on the first frames)')
    .option('--model <dir>', 'work dir of a finished edit (streamedit edit … --work-dir DIR)')
    .requiredOption('--input <file|->', 'a video file, or - for raw RGB24 frames on stdin (with --size)')
    .requiredOption('--output <file|->', 'FILE.m3u8 (HLS, segments beside it), FILE.mp4, or - (raw RGB24 on stdout)')
    .option('--size <WxH>', 'frame size of raw stdin input')
    .option('--fps <n>', 'frame rate of raw stdin input (default 25)')
    .option('--frames <n>', 'edit only the first N input frames')
    .option(
      '--max-side <n>',
      'longer side of the working size a warm-up fits at (default STREAMEDIT_MAX_SIDE); frames are delivered at the source size',
    )
    .option(
      '--warmup <n>',
      'fit on the first N frames, then edit live (give the edit: --look, --overlay, --prompt or --keyframe)',
    )
    .addOption(new Option('--preset <name>', 'trainer preset of the warm-up').choices(['tiny', 'cpu']).default('tiny'))
    .option('--iterations <n>', "override the warm-up preset's training iterations")
    .option('--work-dir <dir>', "keep the warm-up's analysis, model and edits here (usable later as --model DIR)");
  addEditOptions(cmd, 'warm-up edit: ')
    .option('--window <n>', "--model: start from this fitted window's edited reference (default 0)")
    .option(
      '--same-video',
      '--model: the input is the analysed video itself (its reference frames come out as their edits)',
    )
    .option('--no-arr', 'never replace the reference')
    .option('--arr-threshold <x>', `uncertainty score that replaces the reference (default ${DEFAULT_ARR.threshold})`)
    .option('--budget <n>', `references allowed per 100 frames (default ${DEFAULT_ARR.budgetPer100})`)
    .option(
      '--arr-persistence <n>',
      `frames in a row above the threshold before a replacement (default ${DEFAULT_ARR.persistence})`,
    )
    .addOption(synthesisOption())
    .addOption(
      new Option('--policy <name>', 'a full input queue: wait, or drop the oldest frame')
        .choices(['block', 'drop-oldest'])
        .default('block'),
    )
    .option('--queue <n>', 'input queue capacity', '8')
    .option('--events', 'stderr carries JSON lines only: events, periodic stats, the final stats')
    .option('--no-progress', 'no progress on stderr')
    .action(action(runLive));
}

async function runLive(o: LiveFlags): Promise<void> {
  if (Boolean(o.model) === Boolean(o.warmup))
    throw new InputError('Give either --model DIR (a finished edit) or --warmup N with an edit, not both or neither.');
  liveOutputKind(o.output); // a bad output name fails before anything starts
  const bars = progressBars(o.progress && !o.events);
  const session = await openSession(o, bars.listener);
  bars.stop();
  const report = reporter(o, session);
  try {
    const input = await openInput(o, session);
    const sink = await openLiveSink(o.output, { fps: input.fps });
    try {
      await pumpFrames(session, input.frames, async (f) => {
        await sink.write(f.image);
        report.frame(f);
      });
      await sink.finish();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    report.end();
  } finally {
    await session.close();
  }
}

async function openSession(o: LiveFlags, onProgress: ProgressListener): Promise<LiveEditSession> {
  const common: LiveSessionOptions = {
    arr: arrOptions(o),
    propagation: { synthesis: parseSynthesis(o.synthesis) },
    policy: o.policy as BackpressurePolicy,
    queueCapacity: parseCount(o.queue, '--queue', 1),
    onProgress,
  };
  if (o.model) {
    return LiveEditSession.fromWorkDir(resolve(o.model), {
      ...common,
      window: o.window ? parseCount(o.window, '--window', 0) : 0,
      sameVideo: o.sameVideo ?? false,
    });
  }
  return LiveEditSession.warmUp({
    ...common,
    frames: parseCount(o.warmup!, '--warmup', 2),
    edit: editSpecFrom(o),
    preset: parsePreset(o.preset),
    maxIterations: o.iterations ? parseCount(o.iterations, '--iterations', 1) : undefined,
    workDir: o.workDir ? resolve(o.workDir) : undefined,
    maxSide: o.maxSide ? parseCount(o.maxSide, '--max-side', 16) : undefined,
  });
}

function arrOptions(o: LiveFlags): ArrOptions | false {
  if (!o.arr) return false;
  const threshold = o.arrThreshold === undefined ? DEFAULT_ARR.threshold : Number(o.arrThreshold);
  if (!(threshold >= 0 && threshold <= 1))
    throw new InputError(`--arr-threshold must be a fraction between 0 and 1, got "${o.arrThreshold}".`);
  return {
    ...DEFAULT_ARR,
    threshold,
    budgetPer100: o.budget ? parseCount(o.budget, '--budget', 0) : DEFAULT_ARR.budgetPer100,
    persistence: o.arrPersistence ? parseCount(o.arrPersistence, '--arr-persistence', 1) : DEFAULT_ARR.persistence,
  };
}

/** The input frames at the source size (the session downscales them for its analysis only), and their frame rate. */
async function openInput(
  o: LiveFlags,
  session: LiveEditSession,
): Promise<{ frames: AsyncIterable<RgbFrame>; fps: Fps }> {
  const count = o.frames ? parseCount(o.frames, '--frames', 1) : undefined;
  if (o.input === '-') {
    if (!o.size) throw new InputError('Raw input on stdin needs its frame size: add --size WIDTHxHEIGHT.');
    const m = /^(\d+)x(\d+)$/.exec(o.size);
    if (!m || Number(m[1]) < 2 || Number(m[2]) < 2)
      throw new InputError(`--size must look like 512x512, got "${o.size}".`);
    const fps = o.fps ? parseCount(o.fps, '--fps', 1) : 25;
    return { frames: limit(rawFrames(process.stdin, Number(m[1]), Number(m[2])), count), fps: { num: fps, den: 1 } };
  }
  const info = await probeVideo(resolve(o.input));
  // A fitted model takes frames at the size of the video it was fitted on (its source size, or its working size for
  // a work dir without source-size edits): decode the input to the same longer side. A warm-up takes the source.
  const size = session.frameSize;
  const maxSide = size ? Math.max(size.width, size.height) : SOURCE_SIZE;
  return { frames: decodeFrames(info, { maxSide, count }), fps: info.fps };
}

async function* limit<T>(items: AsyncIterable<T>, count: number | undefined): AsyncGenerator<T> {
  let n = 0;
  if (count === 0) return;
  for await (const item of items) {
    yield item;
    if (++n === count) return;
  }
}

/**
 * Feeds `frames` into the session while `onFrame` takes the edited ones; the first failure (input, session or
 * output) stops both sides and is the one thrown.
 */
export async function pumpFrames(
  session: LiveEditSession,
  frames: AsyncIterable<RgbFrame>,
  onFrame: (f: EditedLiveFrame) => Promise<void>,
): Promise<void> {
  let first: unknown;
  const fail = async (err: unknown) => {
    first ??= err;
    await session.close();
  };
  const producer = (async () => {
    try {
      for await (const f of frames) await session.push(f);
      session.end();
    } catch (err) {
      await fail(err);
    }
  })();
  const consumer = (async () => {
    try {
      for await (const f of session.frames()) await onFrame(f);
    } catch (err) {
      await fail(err);
    }
  })();
  await Promise.all([producer, consumer]);
  if (first !== undefined) throw first;
}

/** Human progress (a line every second) or, with --events, JSON lines of events and stats on stderr. */
function reporter(o: LiveFlags, session: LiveEditSession) {
  const line = (value: unknown) => process.stderr.write(`${JSON.stringify(value)}\n`);
  const t0 = performance.now();
  let last = 0;
  let count = 0;
  session.on((e: LiveEvent) => {
    if (o.events) {
      line(e);
      return;
    }
    if (!o.progress) return;
    if (e.type === 'reference-replaced')
      process.stderr.write(`live: frame ${e.frame} is the new reference (${e.cause}, score ${e.score.toFixed(3)})\n`);
    if (e.type === 'ready' && e.warmup)
      process.stderr.write(
        `live: fitted on ${e.warmup.frames} frames (${e.warmup.iterations} iterations, ${(e.warmup.ms / 1000).toFixed(1)} s)\n`,
      );
  });
  const summary = () => {
    const s = session.stats();
    const fps = count / Math.max(1e-3, (performance.now() - t0) / 1000);
    return { ...s, fps };
  };
  return {
    frame(f: EditedLiveFrame) {
      count++;
      if (o.events) {
        if (count % 25 === 0) line({ type: 'stats', frame: f.index, ...summary() });
        return;
      }
      if (!o.progress || performance.now() - last < 1000) return;
      last = performance.now();
      const s = summary();
      process.stderr.write(
        `live: ${s.edited} frames edited, ${s.fps.toFixed(1)} fps, latency p50 ${s.latency.p50Ms.toFixed(0)} ms / p95 ${s.latency.p95Ms.toFixed(0)} ms, dropped ${s.dropped}, references ${s.references}\n`,
      );
    },
    end() {
      const s = summary();
      if (o.events) line({ type: 'end', ...s });
      else if (o.progress)
        process.stderr.write(
          `live: done, ${s.edited} frames edited (${s.fps.toFixed(1)} fps), ${s.dropped} dropped, ${s.references} new reference(s), latency p95 ${s.latency.p95Ms.toFixed(0)} ms\n`,
        );
    },
  };
}
