/**
 * The admin surface over HTTP: the credential check on everything under /admin (dashboard, its JSON API,
 * bull-board), and the operators' actions against the real API, BullMQ on a real redis-server, the local artifact
 * store and a FarmWorker. The PIPELINE STAGES ARE A TEST DOUBLE (`recordingStagesForTest`, real ffmpeg work on the
 * real clip): these tests are about the admin machinery, not the editing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { InputError } from '@streamedit/pipeline';
import {
  bullJobId,
  describeFarmConfig,
  jobKeys,
  loadFarmConfig,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import type { AdminJobDetail, AdminJobRow, AdminOverview, AdminQueueRow } from '../../apps/api/src/admin/admin-views';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { startInProcessFarm, type InProcessFarm } from './support/in-process-farm';
import { startRedis, type TestRedis } from '../support/services';
import { ffmpegTool } from '../support/tools';
import { getJson, pollJob, postJob } from './support/farm-client';
import { waitFor } from './support/processes';
import { recordingStagesForTest, acceptPromptEditsForTest } from './support/recording-stages';

// The double fails a `fail-for-test` prompt edit on purpose (the blocked-worker test).
acceptPromptEditsForTest();

const CLIP = '/work/shared/data/videos/may_theresa_5s_512.mp4'; // 125 frames
const TOKEN = 'admin-api-test-token-9f8e7d6c5b';
const WORKER_ID = 'admin-test-worker';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const basic = (password: string, user = 'ops') => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('admin API: credentials and operator actions (pipeline stages are a test double)', () => {
  let redis: TestRedis;
  let config: FarmConfig;
  let farm: InProcessFarm | undefined;
  let api: RunningApi;
  let store: ArtifactStore;
  let client: Redis;
  let tmp: string;

  /** A call to the admin API with the right credential; JSON in and out. */
  async function admin<T = Record<string, unknown>>(
    path: string,
    init: { method?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${api.url}/admin/api${path}`, {
      method: init.method ?? 'GET',
      headers: { ...bearer(), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-admin-api-'));
    redis = await startRedis();
    config = loadFarmConfig({
      REDIS_URL: redis.url,
      FARM_STORAGE: 'local',
      FARM_LOCAL_DIR: join(tmp, 'store'),
      PORT: '0',
      FARM_ADMIN_TOKEN: TOKEN,
      FARM_JOB_ATTEMPTS: '1',
      FARM_MAX_CONSECUTIVE_FAILURES: '1',
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

  test('everything under /admin wants the token (Bearer or basic auth); wrong or missing: 401; never echoed', async () => {
    const paths = [
      '/admin/',
      '/admin/dashboard.js',
      '/admin/api/overview',
      '/admin/queues/',
      '/admin/queues/api/queues',
    ];
    for (const path of paths) {
      for (const [what, headers] of [
        ['no credential', {}],
        ['wrong bearer', bearer('not-the-token-at-all-123')],
        ['wrong basic password', basic('not-the-token-at-all-123')],
        ['token as basic user name', basic('', TOKEN)],
        ['unknown scheme', { authorization: `Token ${TOKEN}` }],
      ] as const) {
        const res = await fetch(`${api.url}${path}`, { headers });
        assert.equal(res.status, 401, `${path}, ${what}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="StreamEdit admin"/, `${path}, ${what}`);
        const text = await res.text();
        assert.match(JSON.parse(text).message, /admin credential/i);
        assert.ok(!text.includes(TOKEN), 'the token is not echoed');
      }
      for (const headers of [bearer(), basic(TOKEN)]) {
        const res = await fetch(`${api.url}${path}`, { headers });
        assert.equal(res.status, 200, `${path} with the token`);
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.ok(!(await res.text()).includes(TOKEN), 'the token is not in any admin page');
      }
    }
    const page = await (await fetch(`${api.url}/admin/`, { headers: bearer() })).text();
    assert.match(page, /<title>StreamEdit Farm · Operations<\/title>/);
    const board = await (await fetch(`${api.url}/admin/queues/api/queues`, { headers: bearer() })).json();
    assert.deepEqual((board as { queues: Array<{ name: string }> }).queues.map((q) => q.name).sort(), [
      'analyze',
      'mux',
      'render',
      'train-cpu',
      'train-gpu',
    ]);

    // Actions refuse other sites' pages (browsers resend basic auth on their own).
    for (const headers of [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }] as Array<
      Record<string, string>
    >) {
      const res = await fetch(`${api.url}/admin/api/queues/render/pause`, {
        method: 'POST',
        headers: { ...bearer(), ...headers },
      });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { message: string }).message, /Cross-site/);
    }
    assert.equal((await admin<AdminOverview>('/overview')).body.queues.find((q) => q.name === 'render')?.paused, false);

    // The settings as logged at start-up never hold the token; a weak token is refused without echoing it.
    assert.ok(!JSON.stringify(describeFarmConfig(config)).includes(TOKEN));
    assert.throws(
      () => loadFarmConfig({ FARM_ADMIN_TOKEN: 'short-secret' }),
      (e: unknown) =>
        e instanceof InputError && /FARM_ADMIN_TOKEN/.test(e.message) && !e.message.includes('short-secret'),
    );

    // No token configured: admin is disabled (403 with the fix), never open.
    const closed = await startApi(
      loadFarmConfig({ REDIS_URL: redis.url, FARM_STORAGE: 'local', FARM_LOCAL_DIR: join(tmp, 'store'), PORT: '0' }),
    );
    try {
      for (const path of ['/admin/', '/admin/api/overview', '/admin/queues/']) {
        for (const headers of [{}, bearer()]) {
          const res = await fetch(`${closed.url}${path}`, { headers });
          assert.equal(res.status, 403, path);
          assert.match(
            ((await res.json()) as { message: string }).message,
            /admin UI is disabled: set FARM_ADMIN_TOKEN/,
          );
        }
      }
    } finally {
      await closed.close();
    }
  });

  test('pause a queue, change priority, cancel, retry as a new job that then runs; details and thumbnails', async () => {
    const analyze = new Queue('analyze', { connection: client });
    try {
      assert.equal((await admin<AdminQueueRow>('/queues/analyze/pause', { method: 'POST' })).body.paused, true);
      assert.equal((await admin('/queues/nowhere/pause', { method: 'POST' })).status, 404);
      const keyframe = join(tmp, 'keyframe.png');
      await ffmpegTool(['-i', CLIP, '-frames:v', '1', keyframe]);
      const posted = await postJob(api.url, {
        video: CLIP,
        fields: { keyframeAt: '0', preset: 'fast' },
        files: { keyframe },
      });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      const first = String(posted.body.id);
      await sleep(800);
      assert.equal((await getJson(`${api.url}/v1/jobs/${first}`)).body.state, 'queued', 'a paused queue is not served');
      const overview = (await admin<AdminOverview>('/overview')).body;
      assert.equal(overview.queues.find((q) => q.name === 'analyze')?.paused, true);
      assert.equal(overview.jobs[0]?.id, first);
      assert.equal(overview.jobs[0]?.etaS, null, 'no ETA before any progress');

      // Priority: the record and the waiting BullMQ job move (low = prioritized set, high = front of the wait list).
      const low = await admin<AdminJobRow>(`/jobs/${first}/priority`, { method: 'POST', body: { priority: 'low' } });
      assert.equal(low.body.priority, 'low');
      assert.equal(await analyze.getJobState(bullJobId.analyze(first)), 'prioritized');
      assert.equal((await analyze.getJob(bullJobId.analyze(first)))?.priority, 10);
      await admin(`/jobs/${first}/priority`, { method: 'POST', body: { priority: 'high' } });
      assert.equal(await analyze.getJobState(bullJobId.analyze(first)), 'waiting');
      assert.equal((await analyze.getJob(bullJobId.analyze(first)))?.priority, 0);
      assert.equal((await getJson(`${api.url}/v1/jobs/${first}`)).body.priority, 'high');
      assert.equal(
        (await admin(`/jobs/${first}/priority`, { method: 'POST', body: { priority: 'urgent' } })).status,
        400,
      );

      // Cancel, then retry: a new job with a copy of the upload and the keyframe, same options.
      assert.equal((await admin<AdminJobRow>(`/jobs/${first}/cancel`, { method: 'POST' })).body.state, 'cancelled');
      assert.equal((await admin(`/jobs/${first}/retry`, { method: 'POST' })).status, 200);
      const retries = (await admin<AdminOverview>('/overview')).body.jobs;
      const second = retries[0]!.id;
      assert.notEqual(second, first);
      assert.equal(retries[0]!.state, 'queued');
      assert.equal(retries[0]!.priority, 'high');
      const copied = (await getJson(`${api.url}/v1/jobs/${second}`)).body;
      assert.deepEqual(copied.edit, { kind: 'keyframes', keyframeAt: [0] });
      assert.equal(copied.preset, 'fast');
      const [a, b] = [jobKeys(first), jobKeys(second)];
      assert.ok((await store.getBuffer(b.input)).equals(await store.getBuffer(a.input)));
      assert.ok((await store.getBuffer(b.keyframe(0))).equals(await readFile(keyframe)));
      assert.equal(
        (await admin(`/jobs/${second}/retry`, { method: 'POST' })).status,
        409,
        'a queued job is not retried',
      );
      assert.equal((await admin('/jobs/0b6a2a3e-6f1e-4c8e-9a4e-2f0d6c1b9d7a/retry', { method: 'POST' })).status, 404);

      assert.equal((await admin<AdminQueueRow>('/queues/analyze/resume', { method: 'POST' })).body.paused, false);
      const done = await pollJob(api.url, second, (j) => j.state === 'done' || j.state === 'failed');
      assert.equal(done.state, 'done', JSON.stringify(done));
      assert.equal(
        (await admin(`/jobs/${second}/priority`, { method: 'POST', body: { priority: 'low' } })).status,
        409,
      );

      // Details: the training curve (10 iterations, every one kept), the event log, the render windows.
      const detail = (await admin<AdminJobDetail>(`/jobs/${second}`)).body;
      assert.deepEqual(
        detail.samples.map((s) => s.iteration),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      assert.equal(detail.job.renderWindows.length, 3);
      assert.equal(detail.resultUrl, `/v1/jobs/${second}/result`);
      const events = detail.log.map(
        (e) => `${e.stage ?? '-'}${e.window !== undefined ? `[${e.window}]` : ''} ${e.msg}`,
      );
      assert.equal(events[0], `- retry of job ${first}`);
      for (const stage of ['analyze', 'train', 'render[0]', 'render[1]', 'render[2]', 'mux']) {
        assert.ok(events.includes(`${stage} stage started`), `${stage} started: ${events.join(' | ')}`);
        assert.ok(events.includes(`${stage} stage done`), `${stage} done`);
      }
      const firstLog = (await admin<AdminJobDetail>(`/jobs/${first}`)).body.log.map((e) => e.msg);
      assert.deepEqual(firstLog, [
        'priority set to low by an operator',
        'priority set to high by an operator',
        'cancelled by an operator',
        `retried by an operator as job ${second}`,
      ]);

      // Thumbnails: what exists (the double stores frame 0; the upload's keyframe), served as PNG; nothing else is.
      const thumbs = (await fetch(`${api.url}/admin/api/jobs/${second}/thumbnails`, { headers: bearer() }).then((r) =>
        r.json(),
      )) as Array<{ key: string; kind: string; label: string }>;
      assert.deepEqual(thumbs, [
        { key: 'frames/000000.png', kind: 'keyframe', label: 'frame 0' },
        { key: 'edit/keyframe-0.png', kind: 'edit', label: 'uploaded keyframe #0' },
      ]);
      const png = await fetch(`${api.url}/admin/api/jobs/${second}/file?key=frames/000000.png`, { headers: bearer() });
      assert.equal(png.status, 200);
      assert.equal(png.headers.get('content-type'), 'image/png');
      assert.ok(
        Buffer.from(await png.arrayBuffer())
          .subarray(0, 8)
          .equals(PNG_SIGNATURE),
      );
      for (const key of ['input', 'report.json', '../../etc/passwd.png', 'frames/../input']) {
        const res = await fetch(`${api.url}/admin/api/jobs/${second}/file?key=${encodeURIComponent(key)}`, {
          headers: bearer(),
        });
        assert.equal(res.status, 404, key);
      }
    } finally {
      await analyze.close();
    }
  });

  test('a worker that blocked itself shows as blocked with its failures, and an operator unblocks it', async () => {
    const failing = await postJob(api.url, { video: CLIP, fields: { prompt: 'fail-for-test' } });
    const id = String(failing.body.id);
    assert.equal((await pollJob(api.url, id, (j) => j.state === 'failed')).state, 'failed');
    const me = async () => (await admin<AdminOverview>('/overview')).body.workers.find((w) => w.id === WORKER_ID);
    await waitFor('the worker to show as blocked', async () => (await me())?.state === 'blocked');
    const blocked = (await me())!;
    assert.equal(blocked.consecutiveFailures, 1);
    assert.equal(blocked.pool, 'CPU');
    assert.match(blocked.blockedReason ?? '', /1 jobs failed in a row/);
    const log = (await admin<AdminJobDetail>(`/jobs/${id}`)).body.log;
    assert.ok(
      log.some((e) => e.level === 'error' && e.msg === 'stage failed'),
      JSON.stringify(log),
    );

    assert.equal((await admin('/workers/nobody-here/unblock', { method: 'POST' })).status, 404);
    assert.deepEqual((await admin(`/workers/${WORKER_ID}/unblock`, { method: 'POST' })).body, {
      id: WORKER_ID,
      unblocked: true,
    });
    await waitFor('the worker to run again', async () => (await me())?.state === 'running');
    const next = await postJob(api.url, { video: CLIP, fields: { look: 'noir', preset: 'fast' } });
    assert.equal(
      (await pollJob(api.url, String(next.body.id), (j) => j.state === 'done' || j.state === 'failed')).state,
      'done',
    );
  });
});
