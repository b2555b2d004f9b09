/**
 * SLOW fault suite (`npm run test:faults`), with the REAL pipeline stages: trainers and renderers as separate
 * processes (dist/apps/…), the API in this process with auth on, BullMQ on a redis-server with an append-only file,
 * artifacts on s3rver; Chromium landmarks, XFeat, the PyTorch trainer (`fast` = `tiny`) and ONNX Runtime, on the
 * first 12 frames of a real clip with two painted keyframes (two render windows).
 *
 * 1. A clean run: the reference output.
 * 2. The same job, with a trainer killed (-9, its whole process group) after the first checkpoint and a renderer
 *    killed mid-window: it completes from the stored checkpoint, every frame is there once, in order, and matches
 *    the clean run.
 * 3. Redis stopped for 10 s while a job trains: the API answers 503 meanwhile, the workers reconnect, the job
 *    completes with no stage run twice.
 * 4. S3 stopped for good while a job trains: the job fails with a message that says so; once S3 is back an
 *    operator's retry resumes training from the stored checkpoint and completes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { decodeFrames, writePng, type RgbFrame } from '@streamedit/pipeline';
import { probeVideo } from '@streamedit/pipeline/media/video-info';
import {
  ApiKeyRepository,
  createArtifactStore,
  farmEnv,
  loadFarmConfig,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { isAlive, waitFor } from '../farm/support/processes';
import { startWorkerProcess, type WorkerProcess } from '../farm/support/worker-processes';
import { clipPath } from '../support/clips';
import {
  probe,
  startRestartableRedis,
  startRestartableS3,
  type Probe,
  type RestartableRedis,
  type RestartableS3,
} from './support/outages';
import { countStages, stageEvents } from './support/stage-log';

const CLIP = clipPath('may');
const FRAMES = 12;
const KEYFRAMES = [0, 6];
const PATCH = { x: 200, y: 330, width: 112, height: 40 };
const ADMIN_TOKEN = 'faults-admin-token-0123456789abcdef';
const JOB_TIMEOUT_MS = 300_000;

let redis: RestartableRedis;
let s3: RestartableS3;
let config: FarmConfig;
let api: RunningApi;
let store: ArtifactStore;
let client: Redis;
let tmp: string;
let key: string;
let workerEnv: NodeJS.ProcessEnv;
const workers: WorkerProcess[] = [];
/** Every worker's output, kept after it is stopped or killed (stage counts span the workers of a job). */
const outputs: Array<{ name: string; text: () => string }> = [];
let cleanOutput = '';

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'faults-real-'));
  [redis, s3] = await Promise.all([startRestartableRedis(), startRestartableS3()]);
  workerEnv = {
    ...farmEnv(redis, s3),
    FARM_JOB_ATTEMPTS: '2',
    FARM_BACKOFF_MS: '1000',
    FARM_SHUTDOWN_GRACE_S: '1',
    TMPDIR: tmp,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  config = loadFarmConfig({ ...workerEnv, PORT: '0', FARM_AUTH: 'on', FARM_ADMIN_TOKEN: ADMIN_TOKEN });
  client = new Redis(redis.url);
  client.on('error', () => {}); // Redis is stopped on purpose in test 3
  store = await createArtifactStore(config);
  api = await startApi(config);
  key = (await new ApiKeyRepository(client, undefined).create('user', 'faults', { maxActiveJobs: 10 })).key;
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await api?.close();
  await store?.close();
  client?.disconnect();
  await Promise.all([s3?.close(), redis?.close()]);
  await rm(tmp, { recursive: true, force: true });
});

function startWorker(role: 'trainer' | 'renderer', name: string, lockS: number): WorkerProcess {
  const w = startWorkerProcess(role, { ...workerEnv, FARM_WORKER_ID: name, FARM_LOCK_S: String(lockS) });
  workers.push(w);
  outputs.push({ name, text: () => w.output() });
  return w;
}

async function stopWorkers(): Promise<void> {
  await Promise.all(workers.filter((w) => isAlive(w.pid)).map((w) => w.stop()));
}

/** The user key's header (the key exists once `before` ran). */
const auth = () => ({ authorization: `Bearer ${key}` });
async function getJob(id: string, headers: Record<string, string> = { authorization: `Bearer ${key}` }) {
  return (await (await fetch(`${api.url}/v1/jobs/${id}`, { headers })).json()) as Record<string, unknown>;
}
async function untilEnded(id: string, timeoutMs = JOB_TIMEOUT_MS): Promise<Record<string, unknown>> {
  const started = Date.now();
  for (;;) {
    const job = await getJob(id).catch(() => ({}) as Record<string, unknown>);
    if (['done', 'failed', 'cancelled'].includes(String(job.state))) return job;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${id} did not end: ${JSON.stringify(job)}`);
    await sleep(250);
  }
}
const tails = () => outputs.map((o) => `--- ${o.name} ---\n${o.text().split('\n').slice(-12).join('\n')}`).join('\n');

async function frameOf(video: string, index: number): Promise<RgbFrame> {
  for await (const f of decodeFrames(video, { start: index, count: 1 })) return f;
  throw new Error(`no frame ${index} in ${video}`);
}

/** The keyframes job of this suite: frames 0 and 6 with a magenta patch, the first 12 frames, preset fast. */
async function postKeyframesJob(): Promise<string> {
  const form = new FormData();
  form.append('video', new Blob([await readFile(CLIP)]), 'clip.mp4');
  for (const at of KEYFRAMES) {
    const frame = await frameOf(CLIP, at);
    for (let y = PATCH.y; y < PATCH.y + PATCH.height; y++)
      for (let x = PATCH.x; x < PATCH.x + PATCH.width; x++) frame.data.set([230, 20, 200], 3 * (y * frame.width + x));
    const path = join(tmp, `keyframe-${at}.png`);
    await writePng(path, frame);
    form.append('keyframe', new Blob([await readFile(path)]), `k${at}.png`);
  }
  form.append('keyframeAt', KEYFRAMES.join(','));
  form.append('preset', 'fast');
  form.append('frames', String(FRAMES));
  const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form, headers: auth() });
  const body = (await res.json()) as { id: string };
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

async function download(id: string, name: string): Promise<string> {
  const res = await fetch(`${api.url}/v1/jobs/${id}/result`, { headers: auth() });
  assert.equal(res.status, 200);
  const path = join(tmp, `${id}-${name}`);
  await writeFile(path, new Uint8Array(await res.arrayBuffer()));
  return path;
}

async function report(
  id: string,
): Promise<{ training: { restoredFrom: number | null; resumedAt: number[] }; frames: number }> {
  return (await (await fetch(`${api.url}/v1/jobs/${id}/result?artifact=report`, { headers: auth() })).json()) as never;
}

function psnr(a: RgbFrame, b: RgbFrame): number {
  let se = 0;
  for (let i = 0; i < a.data.length; i++) se += (a.data[i]! - b.data[i]!) ** 2;
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

test('1. clean run of the keyframes job (the reference)', { timeout: JOB_TIMEOUT_MS }, async (t) => {
  startWorker('trainer', 'clean-trainer', 4);
  startWorker('renderer', 'clean-renderer', 4);
  const id = await postKeyframesJob();
  const job = await untilEnded(id);
  assert.equal(job.state, 'done', `${JSON.stringify(job)}\n${tails()}`);
  cleanOutput = await download(id, 'clean.mp4');
  assert.equal((await probeVideo(cleanOutput)).frameCount, FRAMES);
  assert.equal((await report(id)).training.restoredFrom, null);
  t.diagnostic(`clean run: ${JSON.stringify(job.timings)} ms per stage`);
  await stopWorkers();
});

test(
  '2. kill -9 a trainer after its first checkpoint and a renderer mid-window: same frames, each once, in order',
  { timeout: JOB_TIMEOUT_MS * 2 },
  async (t) => {
    let trainer = startWorker('trainer', 'kill-trainer-1', 4);
    let renderer = startWorker('renderer', 'kill-renderer-1', 4);
    const id = await postKeyframesJob();
    const sidecar = `jobs/${id}/checkpoints/iter-10/checkpoint-00000010.pt.sha256`;
    await waitFor('the first checkpoint in storage', () => store.exists(sidecar), JOB_TIMEOUT_MS, 100);
    assert.equal((await getJob(id)).state, 'training');
    trainer.killGroup('SIGKILL');
    await waitFor('the killed trainer to exit', () => !isAlive(trainer.pid), 10_000);
    const trainerKilledAt = Date.now();
    trainer = startWorker('trainer', 'kill-trainer-2', 4);
    await waitFor(
      'a new trainer to resume',
      () => trainer.output().includes('resuming training from the stored checkpoint'),
      60_000,
      100,
    );
    const trainerTakeoverMs = Date.now() - trainerKilledAt;

    // The renderer dies during a window: after the window's render started, before it is stored.
    const renderStarted = () =>
      stageEvents([{ name: 'r1', text: renderer.output() }]).filter((e) => e.job === id && e.stage === 'render');
    await waitFor(
      'a render window to start',
      () => renderStarted().some((e) => e.msg === 'stage started'),
      JOB_TIMEOUT_MS,
      50,
    );
    await sleep(1500);
    const started = renderStarted();
    const killedWindow = started.filter((e) => e.msg === 'stage started').pop()!.window!;
    assert.ok(!started.some((e) => e.msg === 'stage done' && e.window === killedWindow), 'killed mid-window');
    renderer.killGroup('SIGKILL');
    await waitFor('the killed renderer to exit', () => !isAlive(renderer.pid), 10_000);
    const rendererKilledAt = Date.now();
    renderer = startWorker('renderer', 'kill-renderer-2', 4);

    const job = await untilEnded(id);
    assert.equal(job.state, 'done', `${JSON.stringify(job)}\n${tails()}`);
    const r = await report(id);
    assert.equal(r.training.restoredFrom, 10, 'training resumed from the stored checkpoint');
    assert.equal(r.training.resumedAt[0], 10);

    const events = stageEvents(outputs.map((o) => ({ name: o.name, text: o.text() })));
    assert.deepEqual(countStages(events, id, 'stage done'), {
      analyze: 1,
      train: 1,
      'render:0': 1,
      'render:1': 1,
      mux: 1,
    });
    const starts = countStages(events, id, 'stage started');
    assert.equal(starts.train, 2, 'train ran again after the kill');
    assert.equal(starts[`render:${killedWindow}`], 2, `render window ${killedWindow} ran again after the kill`);
    const firstStart = renderer
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"stage started"') && l.includes(id));
    const rendererTakeoverMs = (JSON.parse(firstStart!) as { time: number }).time - rendererKilledAt;

    // Every frame once, in order: frame i of the output is closest to frame i of the clean run.
    const output = await download(id, 'killed.mp4');
    assert.equal((await probeVideo(output)).frameCount, FRAMES);
    const clean = await Promise.all(Array.from({ length: FRAMES }, (_, i) => frameOf(cleanOutput, i)));
    const psnrs: number[] = [];
    for (let i = 0; i < FRAMES; i++) {
      const frame = await frameOf(output, i);
      const same = psnr(frame, clean[i]!);
      psnrs.push(same);
      for (const j of [i - 1, i + 1].filter((j) => j >= 0 && j < FRAMES))
        assert.ok(same > psnr(frame, clean[j]!), `frame ${i} matches clean frame ${i} better than frame ${j}`);
      assert.ok(same > 30, `frame ${i}: ${same.toFixed(1)} dB from the clean run`);
    }
    t.diagnostic(
      `trainer killed after checkpoint 10, resumed by a new trainer ${trainerTakeoverMs} ms later; renderer killed in window ` +
        `${killedWindow}, window re-rendered by a new renderer ~${rendererTakeoverMs} ms later; stage starts ${JSON.stringify(starts)}; ` +
        `PSNR vs clean run per frame (dB): ${psnrs.map((p) => (Number.isFinite(p) ? p.toFixed(1) : 'identical')).join(', ')}`,
    );
    await stopWorkers();
  },
);

test(
  '3. Redis stopped 10 s while a job trains: 503s meanwhile, workers reconnect, each stage once',
  { timeout: JOB_TIMEOUT_MS },
  async (t) => {
    // Locks outlive the outage (30 s), so no running stage is taken for stalled.
    startWorker('trainer', 'redis-trainer', 30);
    startWorker('renderer', 'redis-renderer', 30);
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: auth(),
      body: await (async () => {
        const f = new FormData();
        f.append('video', new Blob([await readFile(CLIP)]), 'clip.mp4');
        f.append('look', 'cartoon');
        f.append('preset', 'fast');
        f.append('frames', String(FRAMES));
        return f;
      })(),
    });
    const id = ((await res.json()) as { id: string }).id;
    await waitFor('training', async () => (await getJob(id)).state === 'training', JOB_TIMEOUT_MS, 200);
    await sleep(2000);
    const down = performance.now();
    await redis.stop();
    const probes: Probe[] = [];
    while (performance.now() - down < 10_000) {
      probes.push(
        ...(await Promise.all([
          probe('POST', `${api.url}/v1/jobs`, { method: 'POST', headers: auth() }),
          probe('DELETE', `${api.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth() }),
          probe('GET', `${api.url}/v1/jobs/${id}`, { headers: auth() }),
        ])),
      );
      await sleep(200);
    }
    await redis.start();
    assert.ok(
      probes.every((p) => p.status === 503),
      `all 503: ${[...new Set(probes.map((p) => p.status))].join(',')}`,
    );
    const slowest = Math.max(...probes.map((p) => p.ms));
    assert.ok(slowest < 2500, `slowest ${slowest} ms`);
    const job = await untilEnded(id);
    assert.equal(job.state, 'done', `${JSON.stringify(job)}\n${tails()}`);
    const events = stageEvents(outputs.map((o) => ({ name: o.name, text: o.text() })));
    const once = { analyze: 1, train: 1, 'render:0': 1, mux: 1 };
    assert.deepEqual(countStages(events, id, 'stage started'), once);
    assert.deepEqual(countStages(events, id, 'stage done'), once);
    t.diagnostic(
      `${probes.length} requests during the 10 s outage, all 503, slowest ${slowest.toFixed(1)} ms; job done, stage times ${JSON.stringify(job.timings)}`,
    );
    await stopWorkers();
  },
);

test(
  '4. S3 down for good: the job fails saying so; S3 back, a retry resumes from the checkpoint',
  { timeout: JOB_TIMEOUT_MS * 2 },
  async (t) => {
    startWorker('trainer', 's3-trainer', 30);
    startWorker('renderer', 's3-renderer', 30);
    const id = await postKeyframesJob();
    const sidecar = `jobs/${id}/checkpoints/iter-10/checkpoint-00000010.pt.sha256`;
    await waitFor('the first checkpoint in storage', () => store.exists(sidecar), JOB_TIMEOUT_MS, 100);
    const down = Date.now();
    await s3.stop();
    const failed = await untilEnded(id);
    const failedAfterMs = Date.now() - down;
    assert.equal(failed.state, 'failed', JSON.stringify(failed));
    assert.match(
      String(failed.error),
      /The train stage failed after 2 attempt\(s\): the artifact storage did not answer/,
    );
    assert.match(String(failed.error), /Retry the job once storage is back/);
    await s3.start();

    const retry = await fetch(`${api.url}/admin/api/jobs/${id}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(retry.status, 200);
    const retried = String(((await retry.json()) as { id: string }).id);
    const job = await untilEnded(retried);
    assert.equal(job.state, 'done', `${JSON.stringify(job)}\n${tails()}`);
    assert.equal(job.frames, FRAMES);
    const r = await report(retried);
    assert.equal(r.training.restoredFrom, 10, 'the retry resumed training at the failed job’s checkpoint');
    const output = await download(retried, 'retried.mp4');
    assert.equal((await probeVideo(output)).frameCount, FRAMES);
    t.diagnostic(
      `failed ${failedAfterMs} ms after S3 went down: "${String(failed.error)}"; the operator's retry resumed from checkpoint 10 and finished in ` +
        `${((Date.parse(String(job.finishedAt)) - Date.parse(String(job.createdAt))) / 1000).toFixed(1)} s`,
    );
    await stopWorkers();
  },
);
