import type { ClipBenchOptions } from './clip-bench-options';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { basename, join, resolve } from 'node:path';
import {
  decodeFrames,
  editVideo,
  InputError,
  LiveEditSession,
  runChild,
  settings,
  summarizeLatencies,
  type BackpressurePolicy,
  type CorrespondencePreset,
  type EditedLiveFrame,
  type LatencySummary,
  type ProgressListener,
  type RgbFrame,
  type Settings,
  type SynthesisMode,
  f1,
  formatTable,
} from '@streamedit/pipeline';
import { selectClips, videoFiles } from './select-clips';

/** Streams `frames` frames of one clip (the May clip unless `clips` selects another); the fit is kept in `cacheDir`. */
export type LiveBenchOptions = ClipBenchOptions;

/** One streaming run of a session over the clip's frames. */
export interface LiveRun {
  readonly mode: 'sustained' | 'real-time';
  readonly policy: BackpressurePolicy;
  /** Guided synthesis of uncertain pixels (`uncertain`, the default) or the warp alone (`off`). */
  readonly synthesis: SynthesisMode;
  readonly frames: number;
  readonly edited: number;
  readonly dropped: number;
  readonly references: number;
  readonly fps: number;
  /** `push` → edited frame. */
  readonly latency: LatencySummary;
  /** Analysis start → edited frame (the work per frame, without queueing). */
  readonly processing: LatencySummary;
  /** Mean milliseconds per stage: landmarks+features, model, warp/synthesis/composite. */
  readonly stagesMs: { readonly analyze: number; readonly model: number; readonly render: number };
  readonly synthesizedPercent: number;
  /**
   * 99th percentile of the event loop's delay during the run (ms): how long the process — an API hosting streams —
   * could not answer anything else.
   */
  readonly eventLoopDelayP99Ms: number;
}

export interface DisTiming {
  readonly frames: number;
  readonly fps: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface LiveBenchResult {
  readonly clip: string;
  readonly width: number;
  readonly height: number;
  readonly preset: CorrespondencePreset;
  /** Where ONNX Runtime ran the backbone and the model (`STREAMEDIT_ORT_PROVIDER`). */
  readonly provider: Settings['ortProvider'];
  readonly trainFrames: number;
  readonly runs: readonly LiveRun[];
  readonly dis: DisTiming | { readonly skipped: string };
  /** 1-minute load average before and after the runs (the machine is shared: timings depend on it). */
  readonly loadAverage: { readonly before: number; readonly after: number; readonly cores: number };
  readonly table: string;
}

/** Frames the model is fitted on; the rest of the stream is new to it (the paper's streaming setting). */
const TRAIN_FRAMES = 50;
/** The clip's rate the real-time run feeds frames at. */
const SOURCE_FPS = 25;

/**
 * `bench live`: a clip streamed at 512² through a `LiveEditSession` fitted on its first frames: (1) sustained —
 * frames pushed as fast as the session takes them (`block`), fps and per-frame processing latency; (2) real-time —
 * frames arriving at 25 fps (`drop-oldest`), end-to-end latency and drops. The DIS optical-flow propagation
 * baseline (OpenCV, per frame: DIS calc + remap) is timed in the same run on the same frames.
 */
export async function benchLive(o: LiveBenchOptions, onProgress: ProgressListener): Promise<LiveBenchResult> {
  const file = selectClips(await videoFiles(o.dir), o.clips, ['may_theresa'])[0];
  if (!file) throw new InputError(`No clip in ${o.dir} matches may_theresa: give --clips.`);
  const video = resolve(o.dir, file);
  const workDir = join(o.cacheDir, `${basename(file, '.mp4')}-${o.preset}-${o.iterations ?? 'default'}`);
  await fitOnce(video, workDir, o, onProgress);
  const frames: RgbFrame[] = [];
  for await (const f of decodeFrames(video, { maxSide: 512, count: o.frames })) frames.push(f);
  const before = loadavg()[0]!;
  const runs = [
    await streamRun(workDir, frames, 'sustained', 'uncertain'),
    await streamRun(workDir, frames, 'sustained', 'off'),
    await streamRun(workDir, frames, 'real-time', 'uncertain'),
  ];
  const dis = await timeDis(video, frames.length);
  const loadAverage = { before, after: loadavg()[0]!, cores: cpus().length };
  const provider = settings().ortProvider;
  const table = `${liveTable(runs, dis)}\n${frames[0]!.width}×${frames[0]!.height}, model fitted on frames 0–${TRAIN_FRAMES - 1} (${o.preset}), ONNX Runtime on ${provider}; load average ${before.toFixed(1)} → ${loadAverage.after.toFixed(1)} on ${loadAverage.cores} cores`;
  return {
    clip: file,
    width: frames[0]!.width,
    height: frames[0]!.height,
    preset: o.preset,
    provider,
    trainFrames: TRAIN_FRAMES,
    runs,
    dis,
    loadAverage,
    table,
  };
}

/** The fitted work dir of the clip's first frames (an `edit --work-dir` run), made once and reused. */
async function fitOnce(
  video: string,
  workDir: string,
  o: LiveBenchOptions,
  onProgress: ProgressListener,
): Promise<void> {
  if (existsSync(join(workDir, 'model', 'fit.json')) && existsSync(join(workDir, 'edits', 'ref-0.png'))) return;
  await mkdir(workDir, { recursive: true });
  await editVideo(
    video,
    { kind: 'look', name: 'cartoon' },
    join(workDir, 'fitted.mp4'),
    { preset: o.preset, maxIterations: o.iterations, maxFrames: TRAIN_FRAMES, maxSide: 512, workDir },
    onProgress,
  );
}

async function streamRun(
  workDir: string,
  frames: readonly RgbFrame[],
  mode: LiveRun['mode'],
  synthesis: SynthesisMode,
): Promise<LiveRun> {
  const policy: BackpressurePolicy = mode === 'sustained' ? 'block' : 'drop-oldest';
  const session = await LiveEditSession.fromWorkDir(workDir, {
    sameVideo: true,
    policy,
    queueCapacity: mode === 'sustained' ? 8 : 2,
    propagation: { synthesis },
  });
  const out: EditedLiveFrame[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();
  try {
    const consumer = (async () => {
      for await (const f of session.frames()) out.push(f);
    })();
    for (const [i, f] of frames.entries()) {
      if (mode === 'real-time') await sleepUntil(t0 + (i * 1000) / SOURCE_FPS);
      await session.push(f);
    }
    session.end();
    await consumer;
  } finally {
    await session.close();
  }
  const wall = (performance.now() - t0) / 1000;
  loop.disable();
  const stats = session.stats();
  const live = out.filter((f) => !f.isReference);
  const mean = (pick: (f: EditedLiveFrame) => number) =>
    live.reduce((s, f) => s + pick(f), 0) / Math.max(1, live.length);
  return {
    mode,
    policy,
    synthesis,
    frames: frames.length,
    edited: out.length,
    dropped: stats.dropped,
    references: stats.references,
    fps: out.length / wall,
    latency: summarizeLatencies(out.map((f) => f.latencyMs)),
    processing: stats.processing,
    stagesMs: {
      analyze: mean((f) => f.timingsMs.analyze),
      model: mean((f) => f.timingsMs.model),
      render: mean((f) => f.timingsMs.render),
    },
    synthesizedPercent: 100 * mean((f) => f.synthesized),
    eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
  };
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

/** DIS (OpenCV, medium preset as in shared/baselines/dis_baseline.py) per frame: flow to the reference + remap. */
const DIS_TIMING = `
import sys, time, json, cv2, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
cap = cv2.VideoCapture(path); frames = []
while len(frames) < n:
    ok, f = cap.read()
    if not ok: break
    h, w = f.shape[:2]
    if max(h, w) > 512:
        s = 512 / max(h, w); f = cv2.resize(f, (int(w*s)//2*2, int(h*s)//2*2), interpolation=cv2.INTER_AREA)
    frames.append(f)
dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
ref = frames[0]; g_ref = cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY)
h, w = ref.shape[:2]
gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
times = []
t_all = time.perf_counter()
for f in frames[1:]:
    t0 = time.perf_counter()
    flow = dis.calc(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), g_ref, None)
    cv2.remap(ref, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    times.append(1000 * (time.perf_counter() - t0))
wall = time.perf_counter() - t_all
print(json.dumps({"frames": len(times), "wallS": wall, "ms": times}))
`;

async function timeDis(video: string, frames: number): Promise<DisTiming | { skipped: string }> {
  let stdout = '';
  const exit = await runChild({
    command: settings().pythonBin,
    args: ['-', video, String(frames)],
    label: 'DIS timing',
    env: { OMP_NUM_THREADS: '2' },
    stdin: { text: DIS_TIMING },
    onStdoutLine: (line) => void (stdout += line),
  }).catch((err: unknown) => ({ code: -1, lastStderrLine: String(err), stderrTail: '' }));
  if (exit.code !== 0)
    return {
      skipped: /No module named 'cv2'/.test(exit.stderrTail)
        ? 'python3-opencv is not installed'
        : `DIS timing failed: ${exit.lastStderrLine}`,
    };
  const r = JSON.parse(stdout) as { frames: number; wallS: number; ms: number[] };
  const s = summarizeLatencies(r.ms);
  return { frames: r.frames, fps: r.frames / r.wallS, p50Ms: s.p50Ms, p95Ms: s.p95Ms };
}

function liveTable(runs: readonly LiveRun[], dis: LiveBenchResult['dis']): string {
  const rows = runs.map((r) => [
    `StreamEdit live, ${r.mode} (${r.policy}${r.synthesis === 'off' ? ', warp only' : ''})`,
    `${r.edited}/${r.frames}`,
    f1(r.fps),
    `${f1(r.latency.p50Ms)} / ${f1(r.latency.p95Ms)}`,
    `${f1(r.processing.p50Ms)} / ${f1(r.processing.p95Ms)}`,
    `${f1(r.stagesMs.analyze)} / ${f1(r.stagesMs.model)} / ${f1(r.stagesMs.render)}`,
    f1(r.synthesizedPercent),
    String(r.references),
    f1(r.eventLoopDelayP99Ms),
  ]);
  rows.push(
    'fps' in dis
      ? [
          'DIS propagation (OpenCV, calc + remap)',
          `${dis.frames}`,
          f1(dis.fps),
          `${f1(dis.p50Ms)} / ${f1(dis.p95Ms)}`,
          '—',
          '—',
          '—',
          '—',
          '—',
        ]
      : [`DIS: ${dis.skipped}`, '—', '—', '—', '—', '—', '—', '—', '—'],
  );
  return formatTable(
    [
      'method',
      'frames out/in',
      'fps',
      'latency p50 / p95 ms',
      'processing p50 / p95 ms',
      'analyze / model / render ms',
      'synth %',
      'new refs',
      'event loop p99 ms',
    ],
    rows,
  );
}
