/**
 * Fault: the S3 server is down for 10 s while a job trains. The worker's uploads retry with backoff through the
 * outage (the stage does not fail, nothing runs twice) and the job completes; meanwhile the API keeps answering
 * reads from Redis, answers uploads with 503 + Retry-After within seconds (not a 500, not a hang), and readiness
 * says 503. Real redis-server, s3rver (stopped and restarted on its port, objects kept), API and FarmWorker; the
 * stages are the paced TEST DOUBLE. (Storage that stays down: test/faults/real-stages.fault.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '@streamedit/pipeline';
import { loadFarmConfig, type ArtifactStore, type FarmConfig } from '@streamedit/farm';
import type { RunningApi } from '../../apps/api/src/api-app';
import { startInProcessFarm, type InProcessFarm } from '../farm/support/in-process-farm';
import { jobForm, pollJob, postJob } from '../farm/support/farm-client';
import { stageSequence, type StageCallForTest } from '../farm/support/recording-stages';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, type TestRedis } from '../support/services';
import { probe, startRestartableS3, type Probe, type RestartableS3 } from './support/outages';
import { pacedStagesForTest } from './support/paced-stages';

const OUTAGE_MS = 10_000;
const CLIP = clipPath('may');

let redis: TestRedis;
let s3: RestartableS3;
let config: FarmConfig;
let farm: InProcessFarm | undefined;
let api: RunningApi;
let store: ArtifactStore;
const calls: StageCallForTest[] = [];
const trainStarts: string[] = [];
const checkpointWrites: number[] = [];

before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startRestartableS3()]);
  config = loadFarmConfig({
    ...farmEnv(redis, s3),
    PORT: '0',
    // One attempt: surviving the outage must not need a stage retry.
    FARM_JOB_ATTEMPTS: '1',
  });
  farm = await startInProcessFarm(
    config,
    pacedStagesForTest({ calls, trainMs: 14_000, trainStarts, checkpointWrites }),
    { log: logger('faults-worker'), progressIntervalMs: 100 },
  );
  ({ api, store } = farm);
});

after(async () => {
  await farm?.close();
  await Promise.all([s3?.close(), redis?.stop()]);
});

test('S3 down 10 s mid-job: uploads retry with backoff, the job completes with no stage retried', async (t) => {
  const res = await postJob(api.url, { video: CLIP, fields: { look: 'cartoon', preset: 'fast', frames: '25' } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const id = String(res.body.id);
  await pollJob(api.url, id, (j) => j.state === 'training' && Number(j.progress) > 11, 30_000);

  const down = performance.now();
  await s3.stop();
  const probes: Probe[] = [];
  while (performance.now() - down < OUTAGE_MS - 500) {
    const body = await jobForm({ video: CLIP, fields: { look: 'noir' } });
    probes.push(
      ...(await Promise.all([
        probe('POST /v1/jobs', `${api.url}/v1/jobs`, { method: 'POST', body }),
        probe('GET /v1/jobs/:id', `${api.url}/v1/jobs/${id}`),
        probe('GET /health/ready', `${api.url}/health/ready`),
      ])),
    );
    await sleep(250);
  }
  await sleep(Math.max(0, OUTAGE_MS - (performance.now() - down)));
  await s3.start();
  const outageMs = performance.now() - down;

  const uploads = probes.filter((p) => p.what === 'POST /v1/jobs');
  assert.ok(uploads.length >= 2);
  for (const p of uploads) {
    assert.equal(p.status, 503, 'an upload while storage is down is a 503');
    assert.equal(p.retryAfter, '5');
    assert.ok(p.ms < 10_000, `answered in ${p.ms.toFixed(0)} ms, not hanging`);
  }
  assert.ok(
    probes.filter((p) => p.what === 'GET /v1/jobs/:id').every((p) => p.status === 200),
    'reads work',
  );
  assert.ok(probes.filter((p) => p.what === 'GET /health/ready').every((p) => p.status === 503));

  const job = await pollJob(api.url, id, (j) => ['done', 'failed', 'cancelled'].includes(String(j.state)), 60_000);
  assert.equal(job.state, 'done', JSON.stringify(job));
  const mine = stageSequence(calls, id);
  assert.deepEqual(mine, ['analyze', 'train', 'render:0', 'render:1', 'mux'], 'every stage once');
  assert.equal(trainStarts.filter((j) => j === id).length, 1, 'no train attempt failed');
  // Every checkpoint the stage wrote is stored, the one that waited out the outage too: none was lost.
  const ticks = (await store.list(`jobs/${id}/checkpoints/`))
    .map((o) => /iter-(\d+)\/state\.txt$/.exec(o.key)?.[1])
    .filter((n) => n !== undefined)
    .map(Number);
  assert.ok(ticks.length >= 1, `checkpoints stored: ${ticks.join(', ')}`);
  const waited = Math.max(...checkpointWrites);
  assert.ok(waited > OUTAGE_MS / 2, `one checkpoint upload waited out the outage (${waited.toFixed(0)} ms)`);
  assert.deepEqual(
    ticks.sort((a, b) => a - b),
    ticks.map((_, i) => 4 * (i + 1)),
    'consecutive checkpoints, none missing',
  );
  // The rejected uploads left nothing behind.
  const prefixes = new Set((await store.list('')).map((o) => o.key.split('/')[1]));
  assert.deepEqual([...prefixes], [id]);
  const slowest = Math.max(...uploads.map((p) => p.ms));
  t.diagnostic(
    `outage ${outageMs.toFixed(0)} ms: ${uploads.length} uploads all 503 (slowest ${slowest.toFixed(0)} ms), ` +
      `reads 200; job done in ${((Date.parse(String(job.finishedAt)) - Date.parse(String(job.createdAt))) / 1000).toFixed(1)} s ` +
      `(train ${(job.timings as Record<string, number>).train} ms for 14 s of paced work); the upload caught by the ` +
      `outage retried with backoff for ${waited.toFixed(0)} ms, then succeeded`,
  );
});
