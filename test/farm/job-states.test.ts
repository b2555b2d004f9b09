import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  assertJobMap,
  assertTransition,
  canTransition,
  FARM_JOBS,
  IllegalTransitionError,
  isTerminal,
  JOB_STATES,
  JobNotFoundError,
  JobRepository,
  overallProgress,
  QUEUE_NAMES,
  splitRenderWindows,
  STAGES,
  TRANSITIONS,
  type JobRecord,
  type JobState,
} from '@streamedit/farm';
import { startRedis, type TestRedis } from '../support/services';

test('render windows: long ARR windows are cut into near-equal chunks of one reference, numbered in frame order', () => {
  const arr = [
    { reference: 0, start: 0, end: 250 },
    { reference: 250, start: 250, end: 300 },
  ];
  const split = splitRenderWindows(arr, 100);
  assert.deepEqual(
    split.map((w) => [w.index, w.reference, w.start, w.end]),
    [
      [0, 0, 0, 83],
      [1, 0, 83, 167],
      [2, 0, 167, 250],
      [3, 250, 250, 300],
    ],
  );
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 150 }),
      (lengths, max) => {
        let start = 0;
        const windows = lengths.map((n) => ({ reference: start, start, end: (start += n) }));
        const out = splitRenderWindows(windows, max);
        assert.equal(out[0]!.start, 0);
        assert.equal(out[out.length - 1]!.end, start);
        for (const [i, w] of out.entries()) {
          assert.equal(w.index, i);
          assert.ok(w.end > w.start && w.end - w.start <= max, JSON.stringify(w));
          if (i > 0) assert.equal(w.start, out[i - 1]!.end);
          assert.ok(windows.some((a) => a.reference === w.reference && a.start <= w.start && w.end <= a.end));
        }
      },
    ),
  );
});

/** The happy path and the exits, written out independently of the table under test. */
const EXPECTED_EDGES = new Set([
  'queued>analyzing',
  'analyzing>analyzing',
  'analyzing>training',
  'training>training',
  'training>rendering',
  'rendering>rendering',
  'rendering>muxing',
  'muxing>muxing',
  'muxing>done',
  ...['queued', 'analyzing', 'training', 'rendering', 'muxing'].flatMap((s) => [`${s}>failed`, `${s}>cancelled`]),
]);

test('state machine: the table allows exactly the documented transitions, every other pair throws', () => {
  let allowed = 0;
  for (const from of JOB_STATES) {
    for (const to of JOB_STATES) {
      const expected = EXPECTED_EDGES.has(`${from}>${to}`);
      assert.equal(canTransition(from, to), expected, `${from} → ${to}`);
      if (expected) {
        assert.doesNotThrow(() => assertTransition(from, to));
        allowed++;
      } else {
        assert.throws(
          () => assertTransition(from, to),
          (e: unknown) => e instanceof IllegalTransitionError && e.from === from && e.to === to,
        );
      }
    }
  }
  assert.equal(allowed, EXPECTED_EDGES.size);
  assert.deepEqual(JOB_STATES.filter(isTerminal), ['done', 'failed', 'cancelled']);
});

test('state machine: from any state, done is reachable only through every stage in order', () => {
  // Breadth-first over the table from `queued`, ignoring self-loops: the only path to done is the pipeline order.
  const paths: string[][] = [];
  const walk = (path: JobState[]) => {
    const last = path[path.length - 1]!;
    if (last === 'done') return void paths.push(path);
    for (const next of TRANSITIONS[last]) if (next !== last && !path.includes(next)) walk([...path, next]);
  };
  walk(['queued']);
  assert.deepEqual(paths, [['queued', 'analyzing', 'training', 'rendering', 'muxing', 'done']]);
});

test('job map: every job name has a queue and a handler, every queue one owner; a broken map is refused', () => {
  assert.doesNotThrow(() => assertJobMap(FARM_JOBS));
  assert.deepEqual(Object.keys(FARM_JOBS).sort(), [...STAGES].sort());
  assert.deepEqual([...new Set(Object.values(FARM_JOBS).flatMap((d) => d.queues))].sort(), [...QUEUE_NAMES].sort());
  const missing = Object.fromEntries(Object.entries(FARM_JOBS).filter(([name]) => name !== 'render'));
  assert.throws(() => assertJobMap(missing), /no complete definition for "render"/);
  assert.throws(
    () => assertJobMap({ ...FARM_JOBS, mux: { ...FARM_JOBS.mux, queues: ['render'] } }),
    /Queue "render" must belong to exactly one/,
  );
  assert.equal(FARM_JOBS.train.route({ device: 'gpu' }), 'train-gpu');
  assert.equal(FARM_JOBS.train.route({ device: 'cpu' }), 'train-cpu');
});

test('progress: each stage maps into its own span, monotonic across stages', () => {
  assert.equal(overallProgress('analyze', 0), 0);
  assert.equal(overallProgress('mux', 1), 100);
  let last = -1;
  for (const stage of STAGES) {
    for (const f of [0, 0.5, 1]) {
      const p = overallProgress(stage, f);
      assert.ok(p >= last, `${stage} ${f}`);
      last = p;
    }
  }
  assert.equal(overallProgress('train', Number.NaN), overallProgress('train', 0));
});

describe('job repository on a real redis-server', () => {
  let redis: TestRedis;
  let client: Redis;
  let repo: JobRepository;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    repo = new JobRepository(client);
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  const newJob = (): Omit<JobRecord, 'seq' | 'state' | 'createdAt' | 'updatedAt'> => ({
    id: randomUUID(),
    stage: null,
    progress: 0,
    edit: { kind: 'look', name: 'cartoon', at: 0 },
    preset: 'balanced',
    priority: 'normal',
    device: 'cpu',
    input: { bytes: 1, width: 2, height: 2, fps: 25, frameCount: 10, durationS: 0.4, codec: 'h264' },
    frames: null,
    iterations: null,
    windows: null,
    windowsDone: 0,
    timings: {},
    error: null,
    startedAt: null,
    finishedAt: null,
  });

  test('repository: random transition sequences agree with the table and keep the state indexes exact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...JOB_STATES), { maxLength: 12 }), async (attempts) => {
        const job = await repo.create(newJob());
        let state: JobState = 'queued';
        for (const to of attempts) {
          const legal = canTransition(state, to);
          try {
            const r = await repo.transition(job.id, to);
            assert.ok(legal, `${state} → ${to} was accepted`);
            state = r.state;
          } catch (err) {
            assert.ok(err instanceof IllegalTransitionError, String(err));
            assert.ok(!legal, `${state} → ${to} was refused`);
          }
        }
        assert.equal((await repo.require(job.id)).state, state);
        for (const s of JOB_STATES) {
          const inIndex = (await client.zscore(`farm:jobs:${s}`, job.id)) !== null;
          assert.equal(inIndex, s === state, `index of ${s}`);
        }
      }),
      { numRuns: 40 },
    );
  });

  test('repository: render windows finishing together (and one finishing twice) leave the exact count', async () => {
    const job = await repo.create(newJob());
    for (const [to, stage] of [
      ['analyzing', 'analyze'],
      ['training', 'train'],
      ['rendering', 'render'],
    ] as const)
      await repo.transition(job.id, to, { stage });
    // 12 windows from several clients at once, window 3 twice (a retried attempt): the count must end at 12
    const connections = Array.from({ length: 4 }, () => new Redis(redis.url));
    const clients = connections.map((c) => new JobRepository(c));
    try {
      await Promise.all([...Array(12).keys(), 3].map((i) => clients[i % 4]!.markWindowDone(job.id, i)));
    } finally {
      for (const c of connections) c.disconnect();
    }
    assert.equal((await repo.require(job.id)).windowsDone, 12);
    await repo.transition(job.id, 'cancelled');
    assert.equal(await repo.markWindowDone(job.id, 12), null, 'a cancelled job is not updated');
    await repo.delete(job.id);
    assert.equal(await client.exists(`farm:job:${job.id}:windows-done`), 0, 'deleted with the job');
  });

  test('repository: a guarded update does nothing once the job left the state (a cancel wins over progress)', async () => {
    const job = await repo.create(newJob());
    await repo.transition(job.id, 'analyzing', { stage: 'analyze' });
    assert.equal((await repo.update(job.id, ['analyzing'], { progress: 5 }))?.progress, 5);
    await repo.transition(job.id, 'cancelled');
    assert.equal(await repo.update(job.id, ['analyzing'], { progress: 9 }), null);
    const r = await repo.require(job.id);
    assert.equal(r.state, 'cancelled');
    assert.equal(r.progress, 5);
    await assert.rejects(repo.transition(randomUUID(), 'analyzing'), JobNotFoundError);
  });

  test('repository: listing is newest first, filters by state, and pages with a cursor without gaps', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await repo.create(newJob())).id);
    await repo.transition(ids[2]!, 'cancelled');
    await repo.transition(ids[5]!, 'cancelled');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await repo.list({ limit: 3, cursor });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    const newest = seen.slice(0, 7);
    assert.deepEqual(newest, [...ids].reverse());
    assert.equal(new Set(seen).size, seen.length);
    const cancelled = await repo.list({ state: 'cancelled', limit: 50 });
    assert.ok(cancelled.items.every((r) => r.state === 'cancelled'));
    assert.deepEqual(
      cancelled.items.slice(0, 2).map((r) => r.id),
      [ids[5], ids[2]],
    );
    await assert.rejects(repo.list({ limit: 3, cursor: 'not-a-cursor' }), /cursor is not one this API returned/);
  });

  test('repository: an Idempotency-Key maps to the first job id until released', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    assert.equal(await repo.claimIdempotencyKey('key-1', a), a);
    assert.equal(await repo.claimIdempotencyKey('key-1', b), a);
    await repo.releaseIdempotencyKey('key-1', b);
    assert.equal(await repo.claimIdempotencyKey('key-1', b), a, 'only the owner releases');
    await repo.releaseIdempotencyKey('key-1', a);
    assert.equal(await repo.claimIdempotencyKey('key-1', b), b);
  });
});
