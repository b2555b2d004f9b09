/**
 * The farm end to end over HTTP: the NestJS API, BullMQ flows on a real redis-server, artifacts on a real S3 server
 * (s3rver), a FarmWorker serving every queue. The PIPELINE STAGES ARE A TEST DOUBLE here (`recordingStagesForTest`,
 * real ffmpeg work on the real clip): these tests are about the farm machinery, not the editing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { logger } from '@streamedit/pipeline';
import { probeVideo } from '@streamedit/pipeline/media/video-info';
import {
  bullJobId,
  createArtifactStore,
  FarmWorker,
  loadFarmConfig,
  QUEUE_NAMES,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { getJson, pollJob, postJob, readSse } from './support/farm-client';
import { isAlive, readChildPids, waitFor } from './support/processes';
import {
  recordingStagesForTest,
  stageSequence,
  type StageCallForTest,
  acceptPromptEditsForTest,
} from './support/recording-stages';

// The double fails a `fail-for-test` prompt edit on purpose (the blocked-worker test).
acceptPromptEditsForTest();

const CLIP = '/work/shared/data/videos/may_theresa_5s_512.mp4'; // 125 frames, 359 KB
const BIG_CLIP = '/work/shared/data/videos/hdtf_katiehill_WDA_000_512.mp4'; // 3.5 MB: over the 1 MB test limit
const WORKER_ID = 'farm-test-worker';

describe('farm API + queues + storage (pipeline stages are a test double)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let api: RunningApi;
  let store: ArtifactStore;
  let worker: FarmWorker;
  let client: Redis;
  let tmp: string;
  const calls: StageCallForTest[] = [];

  const startWorker = () =>
    FarmWorker.start({
      config,
      role: 'test',
      queues: ['analyze', 'train-cpu', 'render', 'mux'],
      stages: recordingStagesForTest({ calls, pidDir: tmp }),
      store,
      log: logger('test-worker'),
      heartbeatMs: 300,
      progressIntervalMs: 50,
    });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-api-test-'));
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    config = loadFarmConfig({
      ...farmEnv(redis, s3),
      PORT: '0',
      FARM_MAX_UPLOAD_MB: '1',
      FARM_JOB_ATTEMPTS: '2',
      FARM_BACKOFF_MS: '100',
      FARM_MAX_CONSECUTIVE_FAILURES: '2',
      FARM_WORKER_ID: WORKER_ID,
    });
    client = new Redis(redis.url);
    store = await createArtifactStore(config);
    api = await startApi(config);
    worker = await startWorker();
  });

  after(async () => {
    await worker?.close(1000);
    await api?.close();
    await store?.close();
    client?.disconnect();
    await Promise.all([s3?.stop(), redis?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });

  /** Everything the farm keeps: stored objects, job records, BullMQ jobs on any queue. */
  async function footprint() {
    const objects = (await store.list('')).length;
    const records = await client.zcard('farm:jobs');
    let bullJobs = 0;
    for (const name of QUEUE_NAMES) {
      const q = new Queue(name, { connection: client });
      const counts = await q.getJobCounts();
      bullJobs += Object.values(counts).reduce((a, b) => a + b, 0);
      await q.close();
    }
    return { objects, records, bullJobs };
  }

  test('bad uploads and unknown ids get 4xx with a message, and leave nothing stored and nothing queued', async () => {
    const base = api.url;
    const notVideo = join(tmp, 'notes.mp4');
    await writeFile(notVideo, 'this is text, not a video\n'.repeat(100));
    const audioOnly = join(tmp, 'audio.m4a');
    await promisify(execFile)('ffmpeg', [
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=8000:cl=mono',
      '-t',
      '0.5',
      '-c:a',
      'aac',
      audioOnly,
    ]);
    const before = await footprint();
    assert.deepEqual(before, { objects: 0, records: 0, bullJobs: 0 });

    const cases: Array<[string, Parameters<typeof postJob>[1], number, RegExp]> = [
      ['not a video', { video: notVideo, fields: { look: 'cartoon' } }, 422, /uploaded video is not a readable video/],
      [
        'audio only (zero video frames)',
        { video: audioOnly, fields: { look: 'cartoon' } },
        422,
        /has only audio, no video track/,
      ],
      [
        'over the size limit',
        { video: BIG_CLIP, fields: { look: 'cartoon' } },
        413,
        /larger than the upload limit of 1 MB/,
      ],
      ['missing video', { fields: { look: 'cartoon' } }, 400, /video is missing/],
      ['missing edit', { video: CLIP }, 400, /edit is missing/],
      ['two edits', { video: CLIP, fields: { look: 'cartoon', prompt: 'make it blue' } }, 400, /one edit per job/],
      [
        'malformed JSON options',
        { video: CLIP, fields: { look: 'cartoon', options: '{"preset": "fast",' } },
        400,
        /options field is not valid JSON/,
      ],
      [
        'unknown option',
        { video: CLIP, fields: { look: 'cartoon', options: '{"speed": 3}' } },
        400,
        /options field is invalid/,
      ],
      ['unknown look', { video: CLIP, fields: { look: 'sepia-dream' } }, 400, /Unknown look "sepia-dream"/],
      [
        'frame index out of range',
        { video: CLIP, fields: { look: 'cartoon', at: '125' } },
        400,
        /out of range: the video has frames 0–124/,
      ],
      [
        'keyframe without index',
        { video: CLIP, files: { keyframe: notVideo } },
        400,
        /1 keyframe image\(s\) but 0 keyframeAt/,
      ],
      [
        'bad priority',
        { video: CLIP, fields: { look: 'cartoon', priority: 'urgent' } },
        400,
        /Unknown priority "urgent"/,
      ],
    ];
    for (const [name, form, status, message] of cases) {
      const res = await postJob(base, form);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.match(String(res.body.message), message, name);
      assert.equal(res.body.statusCode, status);
    }

    const json = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"look": ',
    });
    assert.equal(json.status, 400);
    assert.match(((await json.json()) as { message: string }).message, /not valid JSON/);
    const text = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(text.status, 415);

    const unknown = '0b6a2a3e-6f1e-4c8e-9a4e-2f0d6c1b9d7a';
    for (const [method, path] of [
      ['GET', `/v1/jobs/${unknown}`],
      ['GET', `/v1/jobs/${unknown}/result`],
      ['GET', `/v1/jobs/${unknown}/events`],
      ['DELETE', `/v1/jobs/${unknown}`],
      ['GET', '/v1/jobs/not-a-uuid'],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.match(((await res.json()) as { message: string }).message, /Job .* does not exist/);
    }
    assert.equal((await getJson(`${base}/v1/jobs?state=sleeping`)).status, 400);
    assert.equal((await getJson(`${base}/v1/jobs?cursor=bogus`)).status, 400);

    assert.deepEqual(await footprint(), before, 'nothing stored, no record, no BullMQ job');
  });

  test('upload → progress events → done → download: analyze, train, render windows, mux', async () => {
    const res = await postJob(api.url, { video: CLIP, fields: { look: 'cartoon', preset: 'fast' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = String(res.body.id);
    assert.equal(res.body.url, `${api.url}/v1/jobs/${id}`);
    const sse = readSse(`${api.url}/v1/jobs/${id}/events`);

    const job = await pollJob(api.url, id, (j) => j.state === 'done' || j.state === 'failed');
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.equal(job.progress, 100);
    assert.deepEqual(job.iterations, { done: 10, total: 10 });
    const windows = job.windows as { total: number; done: number; items: Array<{ start: number; end: number }> };
    assert.equal(windows.total, 3);
    assert.equal(windows.done, 3);
    assert.deepEqual(
      windows.items.map((w) => [w.start, w.end]),
      [
        [0, 42],
        [42, 83],
        [83, 125],
      ],
    );
    assert.deepEqual(Object.keys(job.timings as object).sort(), ['analyze', 'mux', 'render', 'train']);
    assert.deepEqual(job.edit, { kind: 'look', look: 'cartoon', at: 0 });
    assert.equal((job.input as { frameCount: number }).frameCount, 125);

    const mine = stageSequence(calls, id);
    assert.deepEqual(mine, ['analyze', 'train', 'render:0', 'render:1', 'render:2', 'mux']);

    // The result: a redirect to a presigned S3 URL that serves the muxed video.
    const result = await fetch(`${api.url}/v1/jobs/${id}/result`, { redirect: 'manual' });
    assert.equal(result.status, 302);
    const location = result.headers.get('location')!;
    assert.match(location, new RegExp(`^${s3.endpoint}/${s3.bucket}/jobs/${id}/output\\.mp4\\?.*X-Amz-Signature=`));
    const video = await fetch(location);
    assert.equal(video.status, 200);
    const out = join(tmp, `${id}.mp4`);
    await writeFile(out, new Uint8Array(await video.arrayBuffer()));
    const info = await probeVideo(out);
    assert.equal(info.frameCount, 125);

    const report = (await (await fetch(`${api.url}/v1/jobs/${id}/result?artifact=report`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(report.id, id);
    assert.equal(report.stagesUsed, 'recordingStagesForTest (test double)');
    assert.deepEqual(
      (report.windows as Array<{ index: number }>).map((w) => w.index),
      [0, 1, 2],
    );

    // Every artifact sits under the job's prefix with the documented layout.
    const keys = (await store.list(`jobs/${id}/`)).map((o) => o.key.slice(`jobs/${id}/`.length));
    assert.deepEqual(keys, [
      'checkpoints/iter-10',
      'frames/000000.png',
      'input',
      'model.onnx',
      'output.mp4',
      'report.json',
      'windows/0/part.mp4',
      'windows/1/part.mp4',
      'windows/2/part.mp4',
    ]);

    const { status, events } = await sse;
    assert.equal(status, 200);
    assert.equal(events[events.length - 1]?.event, 'done');
    const states = [...new Set(events.map((e) => e.data.state))];
    assert.deepEqual(
      states.filter((s) => s !== 'queued'),
      ['analyzing', 'training', 'rendering', 'muxing', 'done'].filter((s) => states.includes(s)),
    );
    assert.ok(states.includes('training') && states.includes('rendering'), `states seen: ${states.join(', ')}`);
    const progress = events.map((e) => Number(e.data.progress));
    assert.deepEqual(
      progress,
      [...progress].sort((a, b) => a - b),
      'progress never goes back',
    );

    const conflict = await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' });
    assert.equal(conflict.status, 409);
  });

  test('render windows run in parallel: with a second renderer, windows of one job overlap in time', async () => {
    const renderer = await FarmWorker.start({
      config: { ...config, workerId: `${WORKER_ID}-renderer` },
      role: 'test-renderer',
      queues: ['render'],
      stages: recordingStagesForTest({ calls, pidDir: tmp }),
      store,
      log: logger('test-renderer'),
      heartbeatMs: 300,
    });
    try {
      const res = await postJob(api.url, { video: CLIP, fields: { look: 'noir', preset: 'fast' } });
      const id = String(res.body.id);
      const job = await pollJob(api.url, id, (j) => j.state === 'done' || j.state === 'failed');
      assert.equal(job.state, 'done', JSON.stringify(job));
      const renders = calls.filter((c) => c.jobId === id && c.stage === 'render');
      assert.deepEqual(renders.map((c) => c.window).sort(), [0, 1, 2]);
      const overlap = renders.some((a) =>
        renders.some((b) => a !== b && a.startedMs! < b.endedMs! && b.startedMs! < a.endedMs!),
      );
      assert.ok(overlap, `render spans: ${JSON.stringify(renders.map((c) => [c.startedMs, c.endedMs]))}`);
    } finally {
      await renderer.close(1000);
    }
  });

  test('Idempotency-Key: the same key returns the same job, once', async () => {
    const before = await client.zcard('farm:jobs');
    const headers = { 'Idempotency-Key': 'upload-42' };
    const first = await postJob(api.url, { video: CLIP, fields: { look: 'noir' } }, headers);
    const second = await postJob(api.url, { video: CLIP, fields: { look: 'noir' } }, headers);
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    assert.equal(await client.zcard('farm:jobs'), before + 1);
    await pollJob(api.url, String(first.body.id), (j) => j.state === 'done');
  });

  test('cancel while the train stage runs a child process: child tree gone within 5 s, state cancelled', async () => {
    const res = await postJob(api.url, { video: CLIP, fields: { look: 'vintage', preset: 'quality' } });
    assert.equal(res.status, 202);
    const id = String(res.body.id);
    const pids = await readChildPids(join(tmp, `${id}.json`));
    await pollJob(
      api.url,
      id,
      (j) => j.state === 'training' && Number((j.iterations as { done: number } | null)?.done ?? 0) > 0,
    );
    assert.equal((await fetch(`${api.url}/v1/jobs/${id}/result`)).status, 409);

    const cancel = await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' });
    assert.equal(cancel.status, 202);
    assert.deepEqual(await cancel.json(), { id, state: 'cancelled' });
    const ms = await waitFor(
      'the stage child and its child to exit',
      () => !isAlive(pids.child) && !isAlive(pids.grandchild),
      5000,
    );
    assert.ok(ms < 5000);

    const train = new Queue('train-cpu', { connection: client });
    await waitFor('the train job to end', async () => (await train.getJobState(bullJobId.train(id))) === 'failed');
    await train.close();
    const job = (await getJson(`${api.url}/v1/jobs/${id}`)).body;
    assert.equal(job.state, 'cancelled');
    assert.equal(job.error, null);
    assert.equal(
      (await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' })).status,
      202,
      'cancelling twice is fine',
    );
    const me = (
      (await getJson(`${api.url}/v1/workers`)).body as unknown as Array<{
        id: string;
        state: string;
        consecutiveFailures: number;
      }>
    ).find((w) => w.id === WORKER_ID);
    assert.equal(me?.state, 'running', 'a cancel is not a worker fault');
  });

  test('graceful shutdown hands the running job back; another worker finishes it', async () => {
    const res = await postJob(api.url, { video: CLIP, fields: { look: 'vintage', preset: 'quality' } });
    const id = String(res.body.id);
    const pids = await readChildPids(join(tmp, `${id}.json`));
    await worker.close(200);
    assert.ok(!isAlive(pids.child), 'the stage child stopped with the worker');
    const train = new Queue('train-cpu', { connection: client });
    assert.equal(await train.getJobState(bullJobId.train(id)), 'waiting');
    const handedBack = await train.getJob(bullJobId.train(id));
    assert.equal(handedBack?.attemptsMade, 0, 'handing back spends no attempt');
    await train.close();
    assert.equal((await getJson(`${api.url}/v1/jobs/${id}`)).body.state, 'training');

    worker = await startWorker();
    await rm(join(tmp, `${id}.json`), { force: true });
    const again = await readChildPids(join(tmp, `${id}.json`));
    assert.notEqual(again.child, pids.child, 'the new worker runs the stage again');
    assert.equal((await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 202);
    await waitFor('the second child to exit', () => !isAlive(again.child), 5000);
  });

  test('a worker failing jobs twice in a row is blocked until an operator clears it', async () => {
    const failing = await postJob(api.url, { video: CLIP, fields: { prompt: 'fail-for-test' } });
    const failed = await pollJob(api.url, String(failing.body.id), (j) => j.state === 'failed');
    assert.match(
      String(failed.error),
      /analyze stage failed after 2 attempt\(s\): test double: analyze fails on purpose/,
    );
    await waitFor('the worker to be blocked', async () => {
      const list = (await getJson(`${api.url}/v1/workers`)).body as unknown as Array<{ id: string; state: string }>;
      return list.some((w) => w.id === WORKER_ID && w.state === 'blocked');
    });

    const waiting = await postJob(api.url, { video: CLIP, fields: { look: 'cartoon', preset: 'fast' } });
    const id = String(waiting.body.id);
    await sleep(1500);
    assert.equal((await getJson(`${api.url}/v1/jobs/${id}`)).body.state, 'queued', 'a blocked worker takes no work');
    const unblock = await fetch(`${api.url}/v1/workers/${WORKER_ID}/block`, { method: 'DELETE' });
    assert.equal(unblock.status, 200);
    assert.equal((await fetch(`${api.url}/v1/workers/nobody/block`, { method: 'DELETE' })).status, 404);
    const done = await pollJob(api.url, id, (j) => j.state === 'done' || j.state === 'failed');
    assert.equal(done.state, 'done');
  });

  test('listing: newest first, cursor pages without repeats, state filter', async () => {
    const all: string[] = [];
    let url: string | null = `${api.url}/v1/jobs?limit=2`;
    while (url) {
      const page = (await getJson(url)).body as { items: Array<{ id: string }>; nextCursor: string | null };
      assert.ok(page.items.length <= 2);
      all.push(...page.items.map((j) => j.id));
      url = page.nextCursor ? `${api.url}/v1/jobs?limit=2&cursor=${page.nextCursor}` : null;
    }
    assert.equal(all.length, await client.zcard('farm:jobs'));
    assert.equal(new Set(all).size, all.length);
    const cancelled = (await getJson(`${api.url}/v1/jobs?state=cancelled`)).body as { items: Array<{ state: string }> };
    assert.equal(cancelled.items.length, 2);
    assert.ok(cancelled.items.every((j) => j.state === 'cancelled'));
  });

  test('OpenAPI: /docs serves the UI and /docs-json documents the jobs API', async () => {
    const doc = (await getJson(`${api.url}/docs-json`)).body as { paths: Record<string, Record<string, unknown>> };
    for (const path of ['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/result', '/v1/jobs/{id}/events', '/v1/workers']) {
      assert.ok(doc.paths[path], `documents ${path}`);
    }
    assert.ok(doc.paths['/v1/jobs']!.post && doc.paths['/v1/jobs/{id}']!.delete);
    const ui = await fetch(`${api.url}/docs`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });
});
