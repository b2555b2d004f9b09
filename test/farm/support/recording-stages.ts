/**
 * TEST DOUBLE of the pipeline stages — NOT the product's stages. It lets the farm machinery (queues, flows, state
 * machine, storage, API) be tested before and independently of the real pipeline: every stage does real, small work
 * with ffmpeg on the real upload and writes real artifacts, and records the calls so tests can check their order.
 *
 * - analyze: extracts frame 0 to `frames/000000.png`.
 * - train: reports 10 iterations (or, with preset `quality`, runs the slow child process from `slow-child.ts`, for
 *   cancel tests), stores a checkpoint and a stand-in `model.onnx`, and cuts the video into 3 windows.
 * - renderWindow: re-encodes the window's frames to `windows/{i}/part.mp4` (windows are independent: any order).
 * - mux: concatenates the parts into `output.mp4`.
 * A prompt edit `fail-for-test` makes analyze throw an internal error (for the blocked-worker test).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runInChildProcess, type FarmStages, type StageContext } from '@streamedit/farm';

const run = promisify(execFile);

export interface StageCallForTest {
  readonly stage: 'analyze' | 'train' | 'render' | 'mux';
  readonly jobId: string;
  readonly window?: number;
  /** Render calls: when the call started and ended (`Date.now()`), to see windows overlap. */
  readonly startedMs?: number;
  endedMs?: number;
}

export interface RecordingStagesOptions {
  /** Receives every call, in order. */
  readonly calls?: StageCallForTest[];
  /** Folder where the slow train child writes its pids (`{jobId}.json`). */
  readonly pidDir?: string;
  /** Number of windows the train double cuts the video into. Default 3. */
  readonly windows?: number;
}

async function ffmpeg(args: string[], signal: AbortSignal): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { signal });
}

async function localInput(ctx: StageContext): Promise<string> {
  const path = join(ctx.workDir, 'input');
  await ctx.store.downloadToFile(ctx.keys.input, path);
  return path;
}

/**
 * The stages one job ran, as `stage` or `render:i`. Render windows are independent and may run in any order, so
 * they are listed sorted where they ran: between train and mux.
 */
export function stageSequence(calls: readonly StageCallForTest[], jobId: string): string[] {
  const mine = calls.filter((c) => c.jobId === jobId);
  const name = (c: StageCallForTest) => (c.window === undefined ? c.stage : `${c.stage}:${c.window}`);
  const renders = mine
    .filter((c) => c.stage === 'render')
    .map(name)
    .sort();
  const firstRender = mine.findIndex((c) => c.stage === 'render');
  const others = mine.filter((c) => c.stage !== 'render').map(name);
  if (firstRender < 0) return others;
  const before = mine.slice(0, firstRender).filter((c) => c.stage !== 'render').length;
  return [...others.slice(0, before), ...renders, ...others.slice(before)];
}

/**
 * Lets this test process's API accept prompt edits (it refuses them when no image editor is configured): the
 * double's analyze fails a `fail-for-test` prompt on purpose and never calls an editor. Call at the top of a test
 * file, before anything reads the pipeline settings.
 */
export function acceptPromptEditsForTest(): void {
  process.env.STREAMEDIT_EDITOR_URL ??= 'http://127.0.0.1:9/editor-never-called-by-the-test-double';
}

export function recordingStagesForTest(options: RecordingStagesOptions = {}): FarmStages {
  const calls = options.calls ?? [];
  const windowCount = options.windows ?? 3;
  return {
    async analyze(ctx) {
      calls.push({ stage: 'analyze', jobId: ctx.job.id });
      if (ctx.job.edit.kind === 'prompt' && ctx.job.edit.text === 'fail-for-test') {
        throw new Error('test double: analyze fails on purpose');
      }
      const input = await localInput(ctx);
      const frame = join(ctx.workDir, 'frame0.png');
      await ffmpeg(['-i', input, '-frames:v', '1', frame], ctx.signal);
      await ctx.store.putFile(ctx.keys.file('frames', '000000.png'), frame);
      ctx.progress({ stage: 'analyze', done: 1, total: 1 });
      return { frames: ctx.job.input.frameCount, width: ctx.job.input.width, height: ctx.job.input.height };
    },

    async train(ctx) {
      calls.push({ stage: 'train', jobId: ctx.job.id });
      let iterations = 10;
      if (ctx.job.preset === 'quality') {
        const pidFile = join(options.pidDir ?? ctx.workDir, `${ctx.job.id}.json`);
        const result = await runInChildProcess<{ iterations: number }>(
          join(__dirname, 'slow-child.js'),
          [pidFile],
          ctx.signal,
          ctx.progress,
        );
        iterations = result.iterations;
      } else {
        for (let i = 1; i <= iterations; i++)
          ctx.progress({ stage: 'train', done: i, total: iterations, info: { iteration: i, iterations } });
      }
      await ctx.store.putBuffer(
        ctx.keys.checkpoint(iterations),
        `test-double checkpoint after ${iterations} iterations`,
      );
      await ctx.store.putBuffer(ctx.keys.model, 'test-double model (not an ONNX graph)');
      const n = ctx.job.input.frameCount;
      const cuts = Array.from({ length: windowCount + 1 }, (_, i) => Math.round((i * n) / windowCount));
      const windows = cuts.slice(0, -1).map((start, i) => ({ start, end: cuts[i + 1]!, reference: start }));
      return { iterations, windows };
    },

    async renderWindow(ctx) {
      const { window } = ctx;
      const call: StageCallForTest = {
        stage: 'render',
        jobId: ctx.job.id,
        window: window.index,
        startedMs: Date.now(),
      };
      calls.push(call);
      const input = await localInput(ctx);
      const part = join(ctx.workDir, 'part.mp4');
      await ffmpeg(
        [
          '-i',
          input,
          '-vf',
          `trim=start_frame=${window.start}:end_frame=${window.end},setpts=PTS-STARTPTS`,
          '-an',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          part,
        ],
        ctx.signal,
      );
      await ctx.store.putFile(ctx.keys.windowFile(window.index, 'part.mp4'), part);
      ctx.progress({ stage: 'render', done: window.end - window.start, total: window.end - window.start });
      call.endedMs = Date.now();
      return { frames: window.end - window.start };
    },

    async mux(ctx) {
      calls.push({ stage: 'mux', jobId: ctx.job.id });
      const list: string[] = [];
      for (const w of ctx.windows) {
        const path = join(ctx.workDir, `part-${w.index}.mp4`);
        await ctx.store.downloadToFile(ctx.keys.windowFile(w.index, 'part.mp4'), path);
        list.push(`file '${path}'`);
      }
      const listFile = join(ctx.workDir, 'parts.txt');
      await writeFile(listFile, `${list.join('\n')}\n`);
      const output = join(ctx.workDir, 'output.mp4');
      await ffmpeg(['-f', 'concat', '-safe', '0', '-i', listFile, '-c', 'copy', output], ctx.signal);
      await ctx.store.putFile(ctx.keys.output, output, { contentType: 'video/mp4' });
      return {
        report: {
          stagesUsed: 'recordingStagesForTest (test double)',
          parts: list.length,
          bytes: (await readFile(output)).length,
        },
      };
    },
  };
}

/** For `FARM_STAGES_MODULE` in the `npm run farm` test: the same test double, loaded by the worker processes. */
export function createFarmStages(): FarmStages {
  return recordingStagesForTest({ pidDir: process.env.TEST_PID_DIR });
}
