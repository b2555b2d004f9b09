/**
 * Fault: Redis stops for 10 s while a job trains (SIGTERM, restarted on the same port with its append-only file,
 * as a persistent Redis restarting or failing over). Meanwhile the API answers every request that needs Redis with
 * 503 + Retry-After at once (no 500, no hang), liveness stays 200, readiness says 503; the worker reconnects by
 * itself and the job completes with every stage run exactly once. Real redis-server, s3rver, API and FarmWorker;
 * the stages are the paced TEST DOUBLE (test/faults/support/paced-stages.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '@streamedit/pipeline';
import { loadFarmConfig, type FarmConfig } from '@streamedit/farm';
import type { RunningApi } from '../../apps/api/src/api-app';
import { startInProcessFarm, type InProcessFarm } from '../farm/support/in-process-farm';
import { jobForm, pollJob, postJob } from '../farm/support/farm-client';
import { stageSequence, type StageCallForTest } from '../farm/support/recording-stages';
import { clipPath } from '../support/clips';
import { farmEnv, startS3, type TestS3 } from '../support/services';
import { probe, startRestartableRedis, type Probe, type RestartableRedis } from './support/outages';
import { pacedStagesForTest } from './support/paced-stages';

const OUTAGE_MS = 10_000;
const CLIP = clipPath('may');

let redis: RestartableRedis;
let s3: TestS3;
let config: FarmConfig;
let farm: InProcessFarm | undefined;
let api: RunningApi;
let tmp: string;
const calls: StageCallForTest[] = [];
const trainStarts: string[] = [];

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'faults-redis-'));
  [redis, s3] = await Promise.all([startRestartableRedis(), startS3()]);
  config = loadFarmConfig({
    ...farmEnv(redis, s3),
    PORT: '0',
    FARM_JOB_ATTEMPTS: '3',
    FARM_BACKOFF_MS: '500',
  });
  farm = await startInProcessFarm(config, pacedStagesForTest({ calls, trainMs: 16_000, trainStarts }), {
    log: logger('faults-worker'),
    heartbeatMs: 1000,
    progressIntervalMs: 100,
  });
  ({ api } = farm);
});

after(async () => {
  await farm?.close();
  await Promise.all([s3?.stop(), redis?.close()]);
  await rm(tmp, { recursive: true, force: true });
});

test('Redis down 10 s mid-job: API 503s at once (no 500, no hang), workers reconnect, the job completes once', async (t) => {
  const res = await postJob(api.url, { video: CLIP, fields: { look: 'cartoon', preset: 'fast', frames: '25' } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const id = String(res.body.id);
  await pollJob(api.url, id, (j) => j.state === 'training' && Number(j.progress) > 11, 30_000);

  const down = performance.now();
  await redis.stop();
  const probes: Probe[] = [];
  const form = async () => ({ method: 'POST', body: await jobForm({ video: CLIP, fields: { look: 'noir' } }) });
  while (performance.now() - down < OUTAGE_MS) {
    probes.push(
      ...(await Promise.all([
        probe('POST /v1/jobs', `${api.url}/v1/jobs`, await form()),
        probe('DELETE /v1/jobs/:id', `${api.url}/v1/jobs/${randomUUID()}`, { method: 'DELETE' }),
        probe('GET /v1/jobs/:id', `${api.url}/v1/jobs/${id}`),
        probe('GET /v1/jobs', `${api.url}/v1/jobs`),
        probe('GET /health', `${api.url}/health`),
        probe('GET /health/ready', `${api.url}/health/ready`),
      ])),
    );
    await sleep(250);
  }
  await redis.start();
  const back = performance.now();
  let recoveredMs = 0;
  for (;;) {
    const p = await probe('GET /v1/jobs/:id', `${api.url}/v1/jobs/${id}`);
    if (p.status === 200) break;
    recoveredMs = performance.now() - back;
    assert.ok(recoveredMs < 15_000, `the API answers again after Redis is back (${p.status})`);
    await sleep(100);
  }
  recoveredMs = performance.now() - back;

  const api503 = probes.filter((p) => !p.what.startsWith('GET /health'));
  for (const p of api503) {
    assert.equal(p.status, 503, `${p.what} during the outage: ${p.status}`);
    assert.equal(p.retryAfter, '5', `${p.what}: Retry-After`);
  }
  assert.ok(
    probes.filter((p) => p.what === 'GET /health').every((p) => p.status === 200),
    'liveness stays up',
  );
  assert.ok(
    probes.filter((p) => p.what === 'GET /health/ready').every((p) => p.status === 503),
    'readiness says no',
  );
  const slowest = Math.max(...probes.map((p) => p.ms));
  assert.ok(slowest < 2500, `no request hangs: slowest ${slowest.toFixed(0)} ms`);
  const writes = api503.filter((p) => p.what.startsWith('POST') || p.what.startsWith('DELETE'));
  const p95 = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(0.95 * (xs.length - 1))]!;

  const job = await pollJob(api.url, id, (j) => ['done', 'failed', 'cancelled'].includes(String(j.state)), 60_000);
  assert.equal(job.state, 'done', JSON.stringify(job));
  const mine = stageSequence(calls, id);
  assert.deepEqual(mine, ['analyze', 'train', 'render:0', 'render:1', 'mux'], 'every stage once');
  assert.deepEqual(trainStarts.filter((j) => j === id).length, 1, 'training was not restarted');
  t.diagnostic(
    `outage ${OUTAGE_MS} ms: ${api503.length} API requests, all 503 (writes: ${writes.length}, p95 ${p95(writes.map((p) => p.ms)).toFixed(1)} ms); ` +
      `slowest answer ${slowest.toFixed(1)} ms; API answering 200 again ${recoveredMs.toFixed(0)} ms after Redis was back; ` +
      `job done in ${((Date.parse(String(job.finishedAt)) - Date.parse(String(job.createdAt))) / 1000).toFixed(1)} s`,
  );
});

test('Redis frozen (SIGSTOP, connection open, no answers): Redis-backed routes 503 + Retry-After within 3 s', async (t) => {
  const list = await probe('GET /v1/jobs', `${api.url}/v1/jobs`);
  assert.equal(list.status, 200, 'answers before the freeze');
  redis.pause();
  const frozen = performance.now();
  const probes: Probe[] = [];
  try {
    // The first round reaches Redis before the API knows: the command timeout (FARM_REDIS_TIMEOUT_MS) answers it.
    // Later rounds are answered at once by the PING watch.
    while (performance.now() - frozen < 5000) {
      probes.push(
        ...(await Promise.all([
          probe('GET /v1/jobs', `${api.url}/v1/jobs`),
          probe('GET /v1/queues', `${api.url}/v1/queues`),
          probe('GET /v1/jobs/:id', `${api.url}/v1/jobs/${randomUUID()}`),
          probe('GET /health', `${api.url}/health`),
        ])),
      );
      await sleep(200);
    }
  } finally {
    redis.resume();
  }
  for (const p of probes.filter((p) => p.what !== 'GET /health')) {
    assert.equal(p.status, 503, `${p.what} while Redis is frozen: ${p.status}`);
    assert.equal(p.retryAfter, '5', `${p.what}: Retry-After`);
    assert.ok(p.ms < 3000, `${p.what} answered in ${p.ms.toFixed(0)} ms`);
  }
  assert.ok(
    probes.filter((p) => p.what === 'GET /health').every((p) => p.status === 200),
    'liveness stays up',
  );
  const resumed = performance.now();
  for (;;) {
    if ((await probe('GET /v1/jobs', `${api.url}/v1/jobs`)).status === 200) break;
    assert.ok(performance.now() - resumed < 10_000, 'answers again after Redis resumes');
    await sleep(100);
  }
  const slowest = Math.max(...probes.filter((p) => p.what !== 'GET /health').map((p) => p.ms));
  t.diagnostic(
    `frozen 5 s: ${probes.length} requests, Redis-backed all 503, slowest ${slowest.toFixed(0)} ms; ` +
      `200 again ${(performance.now() - resumed).toFixed(0)} ms after SIGCONT`,
  );
});
