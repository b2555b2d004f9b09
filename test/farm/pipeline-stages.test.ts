/**
 * The farm with its REAL pipeline stages (libs/farm/src/stages, the default FARM_STAGES_MODULE): the API in this
 * process, a trainer and a renderer as separate processes (dist/apps/…), BullMQ on a real redis-server, artifacts
 * on a real S3 server (s3rver). Real Chromium landmarks, XFeat features, the PyTorch trainer (`fast` = its `tiny`
 * preset) and ONNX Runtime, on the first 12 frames of a real clip.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeFrames, readPng, writePng, type RgbFrame } from '@streamedit/pipeline';
import { probeVideo } from '@streamedit/pipeline/media/video-info';
import { createArtifactStore, loadFarmConfig, type ArtifactStore, type FarmConfig } from '@streamedit/farm';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { getJson, pollJob, postJob } from './support/farm-client';
import { isAlive, waitFor } from './support/processes';
import { childProcessesOf, startWorkerProcess, type WorkerProcess } from './support/worker-processes';

const CLIP = clipPath('may'); // 125 frames at 25 fps, with audio
/** 282 frames at 30 fps, 1280×720, with audio: the output must come back at that size. */
const HD_CLIP = clipPath('s18');
const FRAMES = 12;
const JOB_TIMEOUT_MS = 150_000;
/** The 1280×720 job renders at that size: allow it more on a loaded 2-core machine. */
const HD_JOB_TIMEOUT_MS = 330_000;
/** Edited keyframes of the multi-window job, and the patch painted on each. */
const KEYFRAMES = [0, 6];
const PATCH = { x: 200, y: 330, width: 112, height: 40 };
/** The tiny trainer preset's schedule: checks (and checkpoints) at 10 and 20. */
const ITERATIONS = 20;

describe('farm + real pipeline stages (separate trainer and renderer processes)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let api: RunningApi;
  let store: ArtifactStore;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let trainer: WorkerProcess;
  let renderer: WorkerProcess;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-pipeline-test-'));
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    env = {
      ...farmEnv(redis, s3),
      FARM_JOB_ATTEMPTS: '3',
      FARM_BACKOFF_MS: '200',
      // A killed trainer's stage is taken over after ~1–3 lock periods: short here, so the test does not wait 30 s+.
      FARM_LOCK_S: '4',
      FARM_SHUTDOWN_GRACE_S: '1',
      // Render jobs of at most 8 frames: a 12-frame window is rendered as two chunks, joined by mux.
      FARM_RENDER_CHUNK_FRAMES: '8',
      // Work dirs of the workers (and of a killed one, which cannot clean up) land in the test's folder.
      TMPDIR: tmp,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    config = loadFarmConfig({ ...env, PORT: '0' });
    store = await createArtifactStore(config);
    api = await startApi(config);
    trainer = startWorkerProcess('trainer', { ...env, FARM_WORKER_ID: 'pipeline-trainer-1' });
    renderer = startWorkerProcess('renderer', { ...env, FARM_WORKER_ID: 'pipeline-renderer-1' });
  });

  after(async () => {
    await Promise.all([trainer?.stop(), renderer?.stop()]);
    await api?.close();
    await store?.close();
    await Promise.all([s3?.stop(), redis?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });

  /** Polls until the job ends; on anything but `done`, fails with the record and the workers' last log lines. */
  async function untilDone(
    id: string,
    t?: { diagnostic(message: string): void },
    timeoutMs = JOB_TIMEOUT_MS,
  ): Promise<Record<string, unknown>> {
    const job = await pollJob(api.url, id, (j) => ['done', 'failed', 'cancelled'].includes(String(j.state)), timeoutMs);
    assert.equal(job.state, 'done', `${JSON.stringify(job)}\n${logTails()}`);
    t?.diagnostic(`stage times (ms): ${JSON.stringify(job.timings)}`);
    return job;
  }

  const logTails = () =>
    [trainer, renderer].map((w) => `--- ${w.role} ---\n${w.output().split('\n').slice(-15).join('\n')}`).join('\n');

  /** Frame `at` of the clip with a magenta patch painted over the mouth: an edited keyframe, as a user makes one. */
  async function paintKeyframe(at: number): Promise<string> {
    const frame = await frameOf(CLIP, at);
    for (let y = PATCH.y; y < PATCH.y + PATCH.height; y++) {
      for (let x = PATCH.x; x < PATCH.x + PATCH.width; x++) frame.data.set([230, 20, 200], 3 * (y * frame.width + x));
    }
    const path = join(tmp, `keyframe-${at}.png`);
    await writePng(path, frame);
    return path;
  }

  /** Downloads a result artifact (S3: the API redirects to a presigned URL, which fetch follows). */
  async function download(id: string, artifact: string, name: string): Promise<string> {
    const res = await fetch(`${api.url}/v1/jobs/${id}/result?artifact=${artifact}`);
    assert.equal(res.status, 200, `${artifact}: ${res.status}`);
    const path = join(tmp, `${id}-${name}`);
    await writeFile(path, new Uint8Array(await res.arrayBuffer()));
    return path;
  }

  test(
    'upload → poll → download: the first 12 frames of a 1280×720 clip edited at 1280×720, the source fps, with audio and a report',
    { timeout: HD_JOB_TIMEOUT_MS + 90_000 },
    async (t) => {
      const bad = await postJob(api.url, { video: CLIP, fields: { look: 'cartoon', frames: '0' } });
      assert.equal(bad.status, 400);
      assert.match(String(bad.body.message), /"frames" must be a whole number ≥ 1/);

      const res = await postJob(api.url, {
        video: HD_CLIP,
        fields: { look: 'cartoon', preset: 'fast', frames: String(FRAMES) },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const id = String(res.body.id);
      const job = await untilDone(id, t, HD_JOB_TIMEOUT_MS);
      assert.equal(job.frames, FRAMES);
      assert.deepEqual(job.iterations, { done: ITERATIONS, total: ITERATIONS });

      const output = await download(id, 'video', 'output.mp4');
      const info = await probeVideo(output);
      assert.equal(info.frameCount, FRAMES);
      assert.deepEqual([info.width, info.height], [1280, 720], 'the output is at the source size');
      assert.deepEqual(info.fps, { num: 30, den: 1 });
      assert.equal(info.hasAudio, true, 'the source audio is muxed in');
      assert.equal((await probeVideo(await download(id, 'uncertainty', 'uncertainty.mp4'))).frameCount, FRAMES);
      const sheet = await readPng(await download(id, 'contactSheet', 'sheet.png'));
      assert.ok(sheet.width > 512 && sheet.height > 3 * 288, `contact sheet ${sheet.width}×${sheet.height}`);

      // The edit is in the video: the keyframe and a propagated frame both differ clearly from the source.
      for (const index of [0, FRAMES - 1]) {
        const diff = meanAbsDiff(await frameOf(output, index), await frameOf(HD_CLIP, index));
        assert.ok(diff > 3, `frame ${index} differs from the source by ${diff.toFixed(2)} on average`);
        t.diagnostic(`frame ${index}: mean |output − source| = ${diff.toFixed(2)}`);
      }

      const report = (await (await fetch(`${api.url}/v1/jobs/${id}/result?artifact=report`)).json()) as Report;
      assert.equal(report.id, id);
      assert.equal(report.frames, FRAMES);
      assert.equal(report.fps, 30);
      assert.deepEqual(
        [report.width, report.height, report.working],
        [1280, 720, { width: 512, height: 288 }],
        'the output size, and the working size beside it',
      );
      assert.equal(report.iterations, ITERATIONS);
      assert.ok(report.windows.length >= 1);
      assert.deepEqual(report.windows[0], { index: 0, reference: 0, start: 0, end: report.windows[0]!.end });
      assert.equal(report.windows[report.windows.length - 1]!.end, FRAMES, 'the windows cover every frame');
      // Render windows are the ARR windows cut into chunks of ≤ 8 frames, each from its ARR window's reference.
      assert.ok(report.windows.length >= 2 && report.windows.every((w) => w.end - w.start <= 8));
      for (const w of report.windows) {
        const arr = report.referenceWindows.find((r) => r.start <= w.start && w.end <= r.end);
        assert.equal(arr?.reference, w.reference, `render window ${JSON.stringify(w)} lies in its ARR window`);
      }
      assert.equal(report.perFrame.length, FRAMES);
      assert.ok(
        report.perFrame.slice(1).every((f) => f.meanSigma > 0),
        'σ is reported for propagated frames',
      );
      assert.equal(report.training.restoredFrom, null, 'a first attempt starts from scratch');
      // The report is written by mux, so it holds the times of the stages before it.
      assert.deepEqual(Object.keys(report.timings).sort(), ['analyze', 'render', 'train']);

      const keys = (await store.list(`jobs/${id}/`)).map((o) => o.key.slice(`jobs/${id}/`.length));
      for (const key of [
        'checkpoints/iter-10/checkpoint-00000010.pt.sha256',
        'checkpoints/iter-20/arr-00000020.json',
        'edit/edited-0.png',
        'edit/edited-0-source.png',
        'references/0-source.png',
        'frames/frames.json',
        'landmarks/landmarks.json',
        'features/features.json',
        'model.onnx',
        'training.json',
        'windows/0/video.mp4',
        'windows/0/sigma.mp4',
        'references/0.png',
        'windows/1/video.mp4',
        'windows/0/stats.json',
        'output.mp4',
        'uncertainty.mp4',
        'contact-sheet.png',
        'report.json',
      ]) {
        assert.ok(keys.includes(key), `${key} is stored (have: ${keys.join(', ')})`);
      }
    },
  );

  test(
    'a trainer killed with SIGKILL mid-training: another trainer resumes from the stored checkpoint',
    { timeout: 240_000 },
    async (t) => {
      // Two edited keyframes (0 and 6): two render windows, each from its own user edit, joined by mux.
      const form = new FormData();
      form.append('video', new Blob([await readFile(CLIP)]), 'clip.mp4');
      for (const at of KEYFRAMES)
        form.append('keyframe', new Blob([await readFile(await paintKeyframe(at))]), `k${at}.png`);
      form.append('keyframeAt', KEYFRAMES.join(','));
      form.append('preset', 'fast');
      form.append('frames', String(FRAMES));
      const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form });
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 202, JSON.stringify(body));
      const id = String(body.id);
      // The first check's files are stored, its sidecar last: from here on a new attempt need not start from 0.
      const sidecar = `jobs/${id}/checkpoints/iter-10/checkpoint-00000010.pt.sha256`;
      await waitFor('the first checkpoint in storage', () => store.exists(sidecar), JOB_TIMEOUT_MS, 50);
      const during = await getJson(`${api.url}/v1/jobs/${id}`);
      assert.equal(during.body.state, 'training', 'killed while training');

      // The whole node goes: the worker and its PyTorch child, without any chance to hand the job back.
      const killed = trainer;
      killed.killGroup('SIGKILL');
      await waitFor('the killed trainer to exit', () => !isAlive(killed.pid), 10_000);
      const killedAt = Date.now();
      trainer = startWorkerProcess('trainer', { ...env, FARM_WORKER_ID: 'pipeline-trainer-2' });
      // BullMQ hands the dead worker's stage to the new one once its lock (FARM_LOCK_S) has expired.
      await waitFor(
        'the new trainer to take the job over',
        () => trainer.output().includes('resuming training from the stored checkpoint'),
        60_000,
        50,
      );
      const takeoverMs = Date.now() - killedAt;
      assert.ok(takeoverMs < 30_000, `taken over after ${takeoverMs} ms`);
      t.diagnostic(`taken over ${takeoverMs} ms after the kill`);

      const job = await untilDone(id, t);
      assert.deepEqual(job.iterations, { done: ITERATIONS, total: ITERATIONS });
      const report = (await (await fetch(`${api.url}/v1/jobs/${id}/result?artifact=report`)).json()) as Report;
      assert.equal(report.training.restoredFrom, 10, 'the new attempt started from the stored checkpoint');
      assert.ok(report.training.resumedAt[0]! > 0, `the trainer resumed at iteration ${report.training.resumedAt[0]}`);
      assert.equal(report.training.resumedAt[0], 10);
      assert.equal(report.iterations, ITERATIONS);
      assert.deepEqual(
        report.windows.map((w) => [w.reference, w.start, w.end]),
        [
          [0, 0, 6],
          [6, 6, FRAMES],
        ],
      );
      assert.deepEqual(
        report.referenceWindows.map((w) => w.cause),
        ['keyframe', 'keyframe'],
      );
      const output = await download(id, 'video', 'keyframes.mp4');
      assert.equal((await probeVideo(output)).frameCount, FRAMES);
      // The painted patch is in every frame of both windows (propagated from its window's keyframe).
      for (const index of [0, 3, 6, 11]) {
        const [out, src] = [await frameOf(output, index), await frameOf(CLIP, index)];
        const diff = meanAbsDiff(crop(out, PATCH), crop(src, PATCH));
        assert.ok(diff > 20, `frame ${index}: the patch region differs by ${diff.toFixed(1)} on average`);
        t.diagnostic(`frame ${index}: patch region differs by ${diff.toFixed(1)}`);
      }
    },
  );

  test(
    'cancelling a job while it trains: the PyTorch trainer is gone within 5 s, the job is cancelled',
    { timeout: 240_000 },
    async (t) => {
      // `quality` trains the paper's 40000 iterations: it is surely still training when cancelled.
      const res = await postJob(api.url, {
        video: CLIP,
        fields: { look: 'cartoon', preset: 'quality', frames: String(FRAMES) },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const id = String(res.body.id);
      let python: number[] = [];
      await waitFor(
        'the PyTorch trainer to start',
        () => (python = childProcessesOf(trainer.pid, 'streamedit_trainer')).length > 0,
        JOB_TIMEOUT_MS,
        50,
      );
      assert.equal((await getJson(`${api.url}/v1/jobs/${id}`)).body.state, 'training');
      assert.ok(python.every(isAlive), 'the trainer runs when the cancel comes');

      const cancelledAt = Date.now();
      const cancel = await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' });
      assert.ok(cancel.status < 300, `cancel: ${cancel.status}`);
      await waitFor('the PyTorch trainer to exit', () => python.every((pid) => !isAlive(pid)), 5000, 20);
      const ms = Date.now() - cancelledAt;
      assert.ok(ms < 5000, `gone ${ms} ms after the cancel request`);
      t.diagnostic(`the PyTorch trainer was gone ${ms} ms after the cancel request was sent`);
      const job = await pollJob(api.url, id, (j) => j.state !== 'training', 5000);
      assert.equal(job.state, 'cancelled');
      await waitFor(
        'the train stage to report the cancel',
        () => trainer.output().includes('"msg":"stage cancelled"'),
        5000,
      );
      assert.ok(isAlive(trainer.pid), 'the trainer itself keeps running');
      assert.deepEqual(childProcessesOf(trainer.pid, 'streamedit_trainer'), []);
    },
  );
});

interface Report {
  id: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
  working: { width: number; height: number };
  iterations: number;
  windows: Array<{ index: number; reference: number; start: number; end: number }>;
  referenceWindows: Array<{ reference: number; start: number; end: number; cause: string }>;
  perFrame: Array<{ meanSigma: number; synthesized: number }>;
  training: { restoredFrom: number | null; resumedAt: number[] };
  timings: Record<string, number>;
}

async function frameOf(video: string, index: number): Promise<RgbFrame> {
  for await (const frame of decodeFrames(video, { start: index, count: 1 })) return frame;
  throw new Error(`no frame ${index} in ${video}`);
}

function crop(f: RgbFrame, r: { x: number; y: number; width: number; height: number }): RgbFrame {
  const data = new Uint8Array(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) {
    const from = 3 * ((r.y + y) * f.width + r.x);
    data.set(f.data.subarray(from, from + 3 * r.width), 3 * y * r.width);
  }
  return { width: r.width, height: r.height, data };
}

function meanAbsDiff(a: RgbFrame, b: RgbFrame): number {
  assert.equal(a.data.length, b.data.length);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}
