/**
 * `/metrics` after real jobs ran through the real API, BullMQ on a real redis-server, the local artifact store and a
 * FarmWorker (PIPELINE STAGES ARE A TEST DOUBLE: `recordingStagesForTest`, real ffmpeg work on the real clip), the
 * summing of other processes' snapshots, and the `/health` probes with Redis and storage up, stopped, unreachable.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  FarmMetrics,
  farmMetrics,
  loadFarmConfig,
  publishMetricsSnapshot,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { startInProcessFarm, type InProcessFarm } from './support/in-process-farm';
import { freePort, startRedis, type TestRedis } from '../support/services';
import { getJson, pollJob, postJob } from './support/farm-client';
import { readChildPids, waitFor } from './support/processes';
import { recordingStagesForTest, acceptPromptEditsForTest } from './support/recording-stages';

// The double fails a `fail-for-test` prompt edit on purpose (the blocked-worker test).
acceptPromptEditsForTest();

const CLIP = '/work/shared/data/videos/may_theresa_5s_512.mp4'; // 125 frames
const WORKER_ID = 'metrics-test-worker';

/** One sample line of the exposition text: `name{a="b",…} value`. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one series `name` whose labels include `labels` (throws when there is none or several). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `exactly one ${name}${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
  return found[0]!.value;
}

async function scrape(base: string): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe('metrics and health (pipeline stages are a test double)', () => {
  let redis: TestRedis;
  let config: FarmConfig;
  let farm: InProcessFarm | undefined;
  let api: RunningApi;
  let store: ArtifactStore;
  let client: Redis;
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-metrics-'));
    redis = await startRedis();
    config = loadFarmConfig({
      REDIS_URL: redis.url,
      FARM_STORAGE: 'local',
      FARM_LOCAL_DIR: join(tmp, 'store'),
      PORT: '0',
      FARM_JOB_ATTEMPTS: '2',
      FARM_BACKOFF_MS: '100',
      FARM_WORKER_ID: WORKER_ID,
    });
    client = new Redis(redis.url);
    farm = await startInProcessFarm(config, recordingStagesForTest({ pidDir: tmp }), { heartbeatMs: 300 });
    ({ api, store } = farm);
  });

  after(async () => {
    await farm?.close();
    client?.disconnect();
    await redis?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  test('after a done, a failed (retried) and a cancelled job: every series is there with its values', async () => {
    const ok = await postJob(api.url, { video: CLIP, fields: { look: 'cartoon', preset: 'fast' } });
    const bad = await postJob(api.url, { video: CLIP, fields: { prompt: 'fail-for-test' } });
    assert.equal((await pollJob(api.url, String(ok.body.id), (j) => j.state === 'done')).state, 'done');
    assert.equal((await pollJob(api.url, String(bad.body.id), (j) => j.state === 'failed')).state, 'failed');
    const w = { worker: WORKER_ID };

    let m = await scrape(api.url);
    // Stage attempts by outcome: one of each stage and three render windows; analyze failed twice (one retry).
    for (const [stage, count] of [
      ['analyze', 1],
      ['train', 1],
      ['render', 3],
      ['mux', 1],
    ] as const)
      assert.equal(value(m, 'streamedit_stage_duration_seconds_count', { stage, outcome: 'ok' }), count, stage);
    assert.equal(value(m, 'streamedit_stage_duration_seconds_count', { stage: 'analyze', outcome: 'fault' }), 2);
    assert.ok(value(m, 'streamedit_stage_duration_seconds_sum', { stage: 'render', outcome: 'ok' }) > 0);
    assert.equal(value(m, 'streamedit_stage_failures_total', { ...w, stage: 'analyze', kind: 'fault' }), 2);
    assert.equal(value(m, 'streamedit_stage_retries_total', { ...w, stage: 'analyze' }), 1);
    // Jobs from upload to end.
    assert.equal(value(m, 'streamedit_job_duration_seconds_count', { state: 'done' }), 1);
    assert.equal(value(m, 'streamedit_job_duration_seconds_count', { state: 'failed' }), 1);
    assert.ok(value(m, 'streamedit_job_duration_seconds_sum', { state: 'done' }) > 0);
    // Training speed and render throughput: the double trains 10 iterations and renders the clip's 125 frames.
    assert.equal(value(m, 'streamedit_training_iterations_total', w), 10);
    assert.ok(value(m, 'streamedit_training_iterations_per_second', w) > 0);
    assert.equal(value(m, 'streamedit_render_frames_total', w), 125);
    assert.ok(value(m, 'streamedit_render_frames_per_second', w) > 0);
    // Read from Redis at scrape time: queues, records, workers.
    assert.equal(value(m, 'streamedit_queue_jobs', { queue: 'render', state: 'completed' }), 3);
    assert.equal(value(m, 'streamedit_queue_jobs', { queue: 'analyze', state: 'failed' }), 1);
    assert.equal(value(m, 'streamedit_queue_jobs', { queue: 'train-gpu', state: 'wait' }), 0);
    assert.equal(value(m, 'streamedit_queue_paused', { queue: 'mux' }), 0);
    assert.equal(value(m, 'streamedit_jobs', { state: 'done' }), 1);
    assert.equal(value(m, 'streamedit_jobs', { state: 'failed' }), 1);
    assert.equal(value(m, 'streamedit_workers', { state: 'running' }), 1);
    assert.ok(value(m, 'streamedit_worker_heartbeat_age_seconds', w) < 5);
    assert.equal(value(m, 'streamedit_redis_up'), 1);
    // API requests by route pattern, never by raw path.
    assert.equal(
      value(m, 'streamedit_http_request_duration_seconds_count', { method: 'POST', route: '/v1/jobs', status: '202' }),
      2,
    );
    assert.ok(value(m, 'streamedit_http_request_duration_seconds_count', { method: 'GET', route: '/v1/jobs/:id' }) > 1);
    assert.ok(!m.some((s) => s.labels.route?.includes(String(ok.body.id))), 'no job id in a route label');
    assert.ok(value(m, 'streamedit_api_process_cpu_user_seconds_total') > 0);

    // A cancel ends a job in the API process: counted there.
    const slow = await postJob(api.url, { video: CLIP, fields: { look: 'noir', preset: 'quality' } });
    const id = String(slow.body.id);
    await readChildPids(join(tmp, `${id}.json`));
    await pollJob(api.url, id, (j) => Number((j.iterations as { done: number } | null)?.done ?? 0) > 0);
    assert.equal((await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 202);
    await waitFor('the train attempt to end', async () => {
      const s = await scrape(api.url);
      return s.some((x) => x.name === 'streamedit_stage_duration_seconds_count' && x.labels.outcome === 'cancelled');
    });
    m = await scrape(api.url);
    assert.equal(value(m, 'streamedit_job_duration_seconds_count', { state: 'cancelled' }), 1);
    assert.equal(value(m, 'streamedit_stage_duration_seconds_count', { stage: 'train', outcome: 'cancelled' }), 1);
    assert.equal(
      value(m, 'streamedit_stage_failures_total', { ...w, stage: 'analyze', kind: 'fault' }),
      2,
      'a cancel is no failure',
    );
    assert.ok(value(m, 'streamedit_training_iterations_total', w) > 10);
    assert.equal((await getJson(`${api.url}/v1/jobs/${id}`)).body.state, 'cancelled');
  });

  test("other processes' published snapshots are summed in; this process's own snapshot is not counted twice", async () => {
    const before = await scrape(api.url);
    const frames = value(before, 'streamedit_render_frames_total', { worker: WORKER_ID });
    const renders = value(before, 'streamedit_stage_duration_seconds_count', { stage: 'render', outcome: 'ok' });

    // The worker in this process publishes its registry (as on every heartbeat): the API reads its own directly.
    await publishMetricsSnapshot(client, farmMetrics());
    // Another worker process: its own registry, published to the same Redis.
    const other = new FarmMetrics();
    other.renderFrames.inc({ worker: 'gpu-node-7' }, 50);
    other.stageDuration.observe({ stage: 'render', outcome: 'ok' }, 2.5);
    other.trainingRate.set({ worker: 'gpu-node-7' }, 31.5);
    await publishMetricsSnapshot(client, other);

    const m = await scrape(api.url);
    assert.equal(value(m, 'streamedit_render_frames_total', { worker: WORKER_ID }), frames, 'not doubled');
    assert.equal(value(m, 'streamedit_render_frames_total', { worker: 'gpu-node-7' }), 50);
    assert.equal(value(m, 'streamedit_training_iterations_per_second', { worker: 'gpu-node-7' }), 31.5);
    assert.equal(value(m, 'streamedit_stage_duration_seconds_count', { stage: 'render', outcome: 'ok' }), renders + 1);
    assert.equal(
      value(m, 'streamedit_stage_duration_seconds_bucket', { stage: 'render', outcome: 'ok', le: '5' }) -
        value(before, 'streamedit_stage_duration_seconds_bucket', { stage: 'render', outcome: 'ok', le: '5' }),
      1,
      'histogram buckets are summed too',
    );
  });

  test('/health is live; /health/ready is 200 with Redis and storage up, 503 when Redis stops or S3 is unreachable', async () => {
    const live = await getJson(`${api.url}/health`);
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    const ready = await getJson(`${api.url}/health/ready`);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.deepEqual(
      [ready.body.status, (ready.body.checks as Record<string, { ok: boolean }>).redis.ok],
      ['ready', true],
    );

    // Its own redis-server, stopped under a running API.
    const own = await startRedis();
    const connection = new Redis(own.url, { maxRetriesPerRequest: null });
    const second = await startApi(
      loadFarmConfig({ REDIS_URL: own.url, FARM_STORAGE: 'local', FARM_LOCAL_DIR: join(tmp, 'store'), PORT: '0' }),
      { redis: connection, store },
    );
    try {
      await waitFor('the connection', () => connection.status === 'ready', 5000);
      assert.equal((await getJson(`${second.url}/health/ready`)).status, 200);
      await own.stop();
      await waitFor('the connection to notice', () => connection.status !== 'ready', 5000);
      const started = Date.now();
      const down = await getJson(`${second.url}/health/ready`);
      assert.equal(down.status, 503);
      assert.ok(Date.now() - started < 3000, 'answered without waiting for Redis');
      const checks = down.body.checks as Record<string, { ok: boolean; error?: string }>;
      assert.equal(down.body.status, 'not ready');
      assert.equal(checks.redis!.ok, false);
      assert.match(checks.redis!.error ?? '', /Redis connection is (connecting|reconnecting|close|end)/);
      assert.equal(checks.storage!.ok, true);
      assert.equal((await getJson(`${second.url}/health`)).status, 200, 'liveness does not depend on Redis');
      const m = await scrape(second.url);
      assert.equal(value(m, 'streamedit_redis_up'), 0, '/metrics still answers');
    } finally {
      await second.close();
      connection.disconnect();
      await own.stop(); // a no-op when the test got as far as stopping it
    }

    // S3 at an address where nothing listens: storage fails readiness, Redis is fine.
    const third = await startApi(
      loadFarmConfig({
        REDIS_URL: redis.url,
        FARM_STORAGE: 's3',
        S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
        S3_ACCESS_KEY_ID: 'none',
        S3_SECRET_ACCESS_KEY: 'none',
        PORT: '0',
      }),
    );
    try {
      const res = await getJson(`${third.url}/health/ready`);
      assert.equal(res.status, 503);
      const checks = res.body.checks as Record<string, { ok: boolean; kind?: string }>;
      assert.deepEqual([checks.redis!.ok, checks.storage!.ok, checks.storage!.kind], [true, false, 's3']);
    } finally {
      await third.close();
    }
  });
});
