/**
 * What workers keep in Redis besides metrics, on a real redis-server: a job's training curve stays bounded by
 * thinning (never by dropping its start), and a job's event log keeps the newest events and never throws.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { JobLog, TrainingSamples } from '@streamedit/farm';
import { startRedis, type TestRedis } from '../support/services';

const ID = '0b6a2a3e-6f1e-4c8e-9a4e-2f0d6c1b9d7a';
let redis: TestRedis;
let client: Redis;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});

after(async () => {
  client?.disconnect();
  await redis?.stop();
});

test('training samples: past the limit the curve is thinned to every second point, first and newest kept', async () => {
  const samples = new TrainingSamples(client, 10);
  for (let i = 1; i <= 25; i++) await samples.add(ID, { iteration: i, loss: 1 / i, sigma: null, at: i });
  const kept = (await samples.list(ID)).map((s) => s.iteration);
  assert.ok(kept.length <= 10, `${kept.length} points`);
  assert.equal(kept[0], 1);
  assert.equal(kept[kept.length - 1], 25);
  assert.deepEqual(
    kept,
    [...kept].sort((a, b) => a - b),
    'in order',
  );
  assert.equal((await samples.list(ID))[1]!.loss, 1 / kept[1]!);
});

test('job log: the newest events win, oldest first; a write that cannot reach Redis is dropped, not thrown', async () => {
  const log = new JobLog(client, 5);
  for (let i = 1; i <= 8; i++) await log.append(ID, { level: 'info', msg: `event ${i}`, stage: 'render', window: i });
  const events = await log.recent(ID, 100);
  assert.deepEqual(
    events.map((e) => e.msg),
    ['event 4', 'event 5', 'event 6', 'event 7', 'event 8'],
  );
  assert.ok(events.every((e) => !Number.isNaN(Date.parse(e.at))));
  assert.deepEqual(
    (await log.recent(ID, 2)).map((e) => e.window),
    [7, 8],
  );

  const gone = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  await new JobLog(gone).append(ID, { level: 'error', msg: 'lost' });
  gone.disconnect();
  assert.equal((await log.recent(ID, 1))[0]!.msg, 'event 8');
});
