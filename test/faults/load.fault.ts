/**
 * SLOW load test (`npm run test:faults -- load`), on 127.0.0.1 only: N small jobs go through the farm as deployed
 * — the API as its own process (auth on), 2 trainers and 2 renderers as processes, Redis and s3rver — while a
 * poller reads `GET /v1/jobs/:id` of random jobs (one request at a time, every 50 ms) and times each answer.
 * Properties: every job completes; no stage of any job runs twice (each job's event log and the BullMQ queues'
 * completed counts); the p95 latency of the poller's reads stays under 50 ms.
 *
 * Two runs: the REAL pipeline stages (`LOAD_REAL_JOBS`, default 8: the first `LOAD_REAL_FRAMES` = 4 frames of a
 * real clip, preset fast), and the farm machinery at the issue's 100 jobs (`LOAD_JOBS`) with the PIPELINE STAGES
 * TEST DOUBLE (real ffmpeg work on the real clip), since 100 real trainings take far longer than minutes on 2 cores.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REPO_ROOT } from '@streamedit/pipeline';
import { ApiKeyRepository, jobLogKey, QUEUE_NAMES } from '@streamedit/farm';
import { waitFor } from '../farm/support/processes';
import { startWorkerProcess, type WorkerProcess } from '../farm/support/worker-processes';
import { clipPath } from '../support/clips';
import { farmEnv, freePort, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';

const REAL_JOBS = Number(process.env.LOAD_REAL_JOBS ?? 8);
const REAL_FRAMES = Number(process.env.LOAD_REAL_FRAMES ?? 4);
const DOUBLE_JOBS = Number(process.env.LOAD_JOBS ?? 100);
/** Time allowed for the real-stage run: ~30 s of two-core time per job was measured; twice that, at least 50 min. */
const realRunMs = (jobs: number): number => Math.max(3_000_000, jobs * 60_000);
const P95_LIMIT_MS = 50;

interface LoadResult {
  readonly wallS: number;
  readonly latencies: number[];
  readonly posts: number[];
  readonly ids: string[];
}

/** Everything one load run started, stopped in `after` even when the run fails. */
const running: Array<() => Promise<void>> = [];
after(async () => {
  for (const stop of running.reverse()) await stop().catch(() => {});
});

function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function runLoad(options: {
  jobs: number;
  frames: number;
  stagesModule?: string;
  /** Render windows per job (the test double's fixed count); undefined: whatever training found. */
  windows?: number;
  timeoutMs: number;
}): Promise<LoadResult> {
  const tmp = await mkdtemp(join(tmpdir(), 'faults-load-'));
  const [redis, s3]: [TestRedis, TestS3] = await Promise.all([startRedis(), startS3()]);
  running.push(async () => {
    await Promise.all([s3.stop(), redis.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });
  const env: NodeJS.ProcessEnv = {
    ...farmEnv(redis, s3),
    FARM_AUTH: 'on',
    FARM_SHUTDOWN_GRACE_S: '1',
    TMPDIR: tmp,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(options.stagesModule ? { FARM_STAGES_MODULE: options.stagesModule } : {}),
  };
  const client = new Redis(redis.url);
  running.push(async () => client.disconnect());
  const key = (
    await new ApiKeyRepository(client, undefined).create('user', 'load', {
      maxActiveJobs: options.jobs,
      ratePerS: 1000,
      burst: 1000,
    })
  ).key;
  const auth = { authorization: `Bearer ${key}` };

  const port = await freePort();
  let apiOutput = '';
  const api: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'dist/apps/api/src/main.js')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', STREAMEDIT_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  api.stderr!.on('data', (d: Buffer) => (apiOutput = (apiOutput + d.toString()).slice(-100_000)));
  running.push(async () => {
    if (api.exitCode !== null) return;
    const exited = new Promise((r) => api.once('exit', r));
    api.kill('SIGTERM');
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the API', async () => (await fetch(`${base}/health`).catch(() => null))?.ok === true, 60_000, 100);
  const workers: WorkerProcess[] = [
    startWorkerProcess('trainer', { ...env, FARM_WORKER_ID: 'load-trainer-1' }),
    startWorkerProcess('trainer', { ...env, FARM_WORKER_ID: 'load-trainer-2' }),
    startWorkerProcess('renderer', { ...env, FARM_WORKER_ID: 'load-renderer-1' }),
    startWorkerProcess('renderer', { ...env, FARM_WORKER_ID: 'load-renderer-2' }),
  ];
  running.push(async () => void (await Promise.all(workers.map((w) => w.stop()))));

  const clip = await readFile(clipPath('may'));
  const started = performance.now();
  const ids: string[] = [];
  const posts: number[] = [];
  const latencies: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if (ids.length > 0) {
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        const t0 = performance.now();
        const res = await fetch(`${base}/v1/jobs/${id}`, { headers: auth });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        assert.equal(res.status, 200);
      }
      await sleep(50);
    }
  })();

  for (let i = 0; i < options.jobs; i++) {
    const form = new FormData();
    form.append('video', new Blob([clip]), 'clip.mp4');
    form.append('look', i % 2 ? 'cartoon' : 'noir');
    form.append('preset', 'fast');
    form.append('frames', String(options.frames));
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/jobs`, { method: 'POST', body: form, headers: auth });
    const body = (await res.json()) as { id: string };
    posts.push(performance.now() - t0);
    assert.equal(res.status, 202, JSON.stringify(body));
    ids.push(body.id);
  }

  const states = new Map<string, string>();
  const deadline = Date.now() + options.timeoutMs;
  while ([...states.values()].filter((s) => s === 'done' || s === 'failed').length < ids.length) {
    assert.ok(Date.now() < deadline, `not all jobs ended in time: ${JSON.stringify(Object.fromEntries(states))}`);
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = (await (
        await fetch(`${base}/v1/jobs?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers: auth })
      ).json()) as { items: Array<{ id: string; state: string; error: string | null }>; nextCursor: string | null };
      for (const j of page.items) states.set(j.id, j.state);
      cursor = page.nextCursor;
    }
    await sleep(1000);
  }
  polling = false;
  await poller;
  const wallS = (performance.now() - started) / 1000;
  const failed = [...states].filter(([, s]) => s !== 'done');
  assert.deepEqual(failed, [], `every job is done\n${workers.map((w) => w.output().slice(-3000)).join('\n')}`);

  // No stage ran twice: each job's event log has one start and one finish per stage (and window) ...
  for (const id of ids) {
    const log = (await client.lrange(jobLogKey(id), '0', '-1')).map(
      (l) => JSON.parse(l) as { msg: string; stage?: string; window?: number },
    );
    assert.ok(log.length < 200, 'the job log was not truncated');
    const count = (msg: string) => {
      const out: Record<string, number> = {};
      for (const e of log.filter((e) => e.msg === msg)) {
        const k = e.window === undefined ? String(e.stage) : `${e.stage}:${e.window}`;
        out[k] = (out[k] ?? 0) + 1;
      }
      return out;
    };
    const starts = count('stage started');
    // Real stages: the ARR windows training found (each rendered once, 0…k−1); the double: `windows`.
    const windows = options.windows ?? Object.keys(starts).filter((k) => k.startsWith('render:')).length;
    assert.ok(windows >= 1, `job ${id}: rendered`);
    const expected: Record<string, number> = { analyze: 1, train: 1, mux: 1 };
    for (let w = 0; w < windows; w++) expected[`render:${w}`] = 1;
    assert.deepEqual(starts, expected, `job ${id}: stage starts`);
    assert.deepEqual(count('stage done'), expected, `job ${id}: stage completions`);
  }
  // ... and BullMQ agrees: as many completed jobs per queue as stages were run, none failed.
  for (const name of QUEUE_NAMES) {
    const q = new Queue(name, { connection: client });
    const c = await q.getJobCounts('completed', 'failed', 'active', 'wait');
    await q.close();
    if (name === 'train-gpu') continue;
    assert.equal(c.failed, 0, `${name}: no failed jobs`);
    if (name !== 'render') assert.equal(c.completed, ids.length, `${name}: one completed job per farm job`);
  }
  return { wallS, latencies, posts, ids };
}

function summary(r: LoadResult): string {
  const f = (x: number) => x.toFixed(1);
  return (
    `${r.ids.length} jobs in ${f(r.wallS)} s (${f((r.ids.length / r.wallS) * 60)} jobs/min); ` +
    `GET /v1/jobs/:id while loaded: ${r.latencies.length} reads, p50 ${f(percentile(r.latencies, 0.5))} ms, ` +
    `p95 ${f(percentile(r.latencies, 0.95))} ms, p99 ${f(percentile(r.latencies, 0.99))} ms, max ${f(Math.max(...r.latencies))} ms; ` +
    `POST /v1/jobs p95 ${f(percentile(r.posts, 0.95))} ms`
  );
}

test(
  `load, real stages: ${REAL_JOBS} jobs × ${REAL_FRAMES} frames through 2 trainers + 2 renderers`,
  { timeout: realRunMs(REAL_JOBS) + 600_000 },
  async (t) => {
    const r = await runLoad({ jobs: REAL_JOBS, frames: REAL_FRAMES, timeoutMs: realRunMs(REAL_JOBS) });
    t.diagnostic(summary(r));
    assert.ok(percentile(r.latencies, 0.95) < P95_LIMIT_MS, summary(r));
    for (const stop of running.splice(0).reverse()) await stop();
  },
);

test(
  `load, farm machinery: ${DOUBLE_JOBS} jobs through 2 trainers + 2 renderers (stages: test double)`,
  { timeout: 3_600_000 },
  async (t) => {
    const r = await runLoad({
      jobs: DOUBLE_JOBS,
      frames: 10,
      windows: 3,
      stagesModule: resolve(__dirname, '..', 'farm', 'support', 'recording-stages.js'),
      timeoutMs: 3_000_000,
    });
    t.diagnostic(summary(r));
    assert.ok(percentile(r.latencies, 0.95) < P95_LIMIT_MS, summary(r));
    for (const stop of running.splice(0).reverse()) await stop();
  },
);
