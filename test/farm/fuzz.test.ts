/**
 * Property-based fuzzing (fast-check, bounded runs) of the API's inputs: multipart uploads put together from
 * known and unknown fields, real / truncated / random file bytes and broken envelopes; JSON bodies of every shape
 * and malformed text; query strings, path ids and Authorization headers. Properties: the API never answers 5xx
 * (every answer is the `{statusCode, error, message}` body), and no job is ever half-stored: afterwards every
 * record has its upload and its queued flow, every stored prefix has a record, and the records are exactly the
 * 202s. Real redis-server, s3rver, ffprobe and NestJS API (no worker: accepted jobs stay queued).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { encodePng } from '@streamedit/pipeline';
import {
  ApiKeyRepository,
  bullJobId,
  createArtifactStore,
  JOB_KEYS,
  jobKeys,
  loadFarmConfig,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';

const ADMIN_TOKEN = 'fuzz-test-admin-token-0123456789';
/** fast-check seed: a failure prints it, and `FUZZ_SEED` replays it. */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

describe('fuzzing the API (fast-check): never a 5xx, never a half-stored job', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let api: RunningApi;
  let store: ArtifactStore;
  let client: Redis;
  let key: string;
  let clip: Buffer;
  let png: Buffer;
  const accepted = new Set<string>();
  const benchmarks: string[] = [];
  const statuses = new Map<number, number>();

  before(async () => {
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    config = loadFarmConfig({
      ...farmEnv(redis, s3),
      PORT: '0',
      FARM_AUTH: 'on',
      FARM_ADMIN_TOKEN: ADMIN_TOKEN,
      FARM_MAX_UPLOAD_MB: '1',
      FARM_MAX_IMAGE_MB: '1',
    });
    client = new Redis(redis.url);
    store = await createArtifactStore(config);
    api = await startApi(config);
    key = (
      await new ApiKeyRepository(client, undefined).create('user', 'fuzz', {
        ratePerS: 1e5,
        burst: 1e5,
        maxActiveJobs: 1e5,
      })
    ).key;
    clip = await readFile(clipPath('may'));
    // A real PNG of the clip's size: a keyframe that can pass.
    png = Buffer.from(encodePng({ width: 512, height: 512, data: new Uint8Array(512 * 512 * 3).fill(128) }));
  });

  after(async () => {
    await api?.close();
    await store?.close();
    client?.disconnect();
    await Promise.all([s3?.stop(), redis?.stop()]);
  });

  /** Sends one request; asserts the answer is not a 5xx and is the API's error body when it is an error. */
  async function send(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: Buffer | string } = {},
  ) {
    const res = await fetch(`${api.url}${path}`, {
      method,
      redirect: 'manual',
      headers: { authorization: `Bearer ${key}`, ...init.headers },
      body: init.body as BodyInit | undefined,
      // A hang is a failure too (and names the input), not a stuck suite.
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
    if (res.status >= 400) {
      let body: { statusCode: number; message: string };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new Error(
          `${method} ${path} → ${res.status} without the error body: ${JSON.stringify(text.slice(0, 200))}`,
        );
      }
      assert.equal(body.statusCode, res.status);
      assert.ok(body.message.length > 0);
    }
    return { status: res.status, text };
  }

  test('multipart uploads: random parts, file bytes and envelopes', async () => {
    const textName = fc.oneof(
      fc.constantFrom('look', 'prompt', 'keyframeAt', 'at', 'preset', 'priority', 'frames', 'options'),
      fc.string({ maxLength: 12 }),
    );
    const textValue = fc.oneof(
      fc.constantFrom('cartoon', 'noir', 'fast', 'quality', 'high', 'low', '0', '3', '-1', '124', '125', '99999999999'),
      fc.constantFrom('0,1', ' 7 ', '{"preset":"fast"}', '{"frames":0}', '{"priority":"high","frames":5}', '{', ''),
      fc.string({ maxLength: 80 }),
      fc.json({ maxDepth: 2 }),
    );
    const fileContent = fc.oneof(
      fc.constant<'clip' | 'truncated' | 'png'>('clip'),
      fc.constant<'clip' | 'truncated' | 'png'>('truncated'),
      fc.constant<'clip' | 'truncated' | 'png'>('png'),
      fc.uint8Array({ maxLength: 3000 }),
    );
    const part = fc.oneof(
      fc.record({ kind: fc.constant('field' as const), name: textName, value: textValue }),
      fc.record({
        kind: fc.constant('file' as const),
        name: fc.oneof(fc.constantFrom('video', 'keyframe', 'overlay'), fc.string({ maxLength: 8 })),
        filename: fc.string({ maxLength: 30 }),
        content: fileContent,
      }),
    );
    const upload = fc.record({
      parts: fc.array(part, { maxLength: 4 }),
      withVideo: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)),
      // Half the uploads start from a valid job (video + look), so the random parts also reach the accept path.
      withLook: fc.boolean(),
      envelope: fc.constantFrom('ok', 'ok', 'ok', 'no-boundary', 'wrong-boundary', 'truncated', 'text/plain', 'json'),
      idempotencyKey: fc.option(fc.stringMatching(/^[\x20-\x7e]{0,300}$/), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(upload, async (u) => {
        const boundary = `fuzz${Math.random().toString(36).slice(2)}`;
        const chunks: Buffer[] = [];
        const parts = [
          ...(u.withVideo
            ? [{ kind: 'file' as const, name: 'video', filename: 'v.mp4', content: 'clip' as const }]
            : []),
          ...(u.withLook ? [{ kind: 'field' as const, name: 'look', value: 'cartoon' }] : []),
          ...u.parts,
        ];
        for (const p of parts) {
          const disposition =
            p.kind === 'field'
              ? `form-data; name="${p.name}"`
              : `form-data; name="${p.name}"; filename="${p.filename}"`;
          const content =
            p.kind === 'field'
              ? Buffer.from(p.value)
              : p.content === 'clip'
                ? clip
                : p.content === 'truncated'
                  ? clip.subarray(0, 50_000)
                  : p.content === 'png'
                    ? png
                    : Buffer.from(p.content);
          chunks.push(
            Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`),
            content,
            Buffer.from('\r\n'),
          );
        }
        chunks.push(Buffer.from(`--${boundary}--\r\n`));
        let body = Buffer.concat(chunks);
        let type = `multipart/form-data; boundary=${boundary}`;
        if (u.envelope === 'no-boundary') type = 'multipart/form-data';
        if (u.envelope === 'wrong-boundary') type = 'multipart/form-data; boundary=other';
        if (u.envelope === 'truncated') body = body.subarray(0, Math.floor(body.length / 2));
        if (u.envelope === 'text/plain') type = 'text/plain';
        if (u.envelope === 'json') type = 'application/json';
        const headers: Record<string, string> = { 'content-type': type };
        if (u.idempotencyKey !== undefined) headers['idempotency-key'] = u.idempotencyKey;
        const res = await send('POST', '/v1/jobs', { headers, body });
        if (res.status === 202) accepted.add((JSON.parse(res.text) as { id: string }).id);
      }),
      { numRuns: 150, seed: SEED, endOnFailure: true },
    );
  });

  test('JSON bodies, queries, ids and credentials of every shape', async () => {
    const benchmarkBody = fc.record(
      {
        clips: fc.array(fc.oneof(fc.constantFrom('may_theresa_5s_512.mp4', '../may_theresa_5s_512.mp4'), fc.string()), {
          maxLength: 3,
        }),
        frames: fc.oneof(fc.integer({ min: -5, max: 400 }), fc.string({ maxLength: 5 })),
        preset: fc.oneof(fc.constantFrom('fast', 'balanced', 'quality'), fc.string({ maxLength: 8 })),
        ablations: fc.oneof(fc.boolean(), fc.string({ maxLength: 4 })),
      },
      { requiredKeys: [] },
    );
    const anyJson = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ jobId: fc.string(), warmup: fc.jsonValue({ maxDepth: 2 }) }),
      benchmarkBody,
    );
    await fc.assert(
      fc.asyncProperty(anyJson, fc.string({ maxLength: 60 }), async (value, raw) => {
        const json = { 'content-type': 'application/json' };
        await send('POST', '/v1/streams', { headers: json, body: JSON.stringify(value) });
        await send('POST', '/v1/streams', { headers: json, body: raw });
        for (const body of [JSON.stringify(value), raw]) {
          const res = await send('POST', '/v1/benchmarks', { headers: json, body });
          if (res.status === 202) benchmarks.push((JSON.parse(res.text) as { id: string }).id);
        }
        const admin = { ...json, authorization: `Bearer ${ADMIN_TOKEN}`, origin: api.url };
        await send('POST', `/admin/api/jobs/${encodeURIComponent(raw)}/priority`, {
          headers: admin,
          body: JSON.stringify(value),
        });
      }),
      { numRuns: 150, seed: SEED, endOnFailure: true },
    );
    const segment = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }));
    const query = fc.record(
      {
        state: fc.string({ maxLength: 12 }),
        limit: fc.string({ maxLength: 6 }),
        cursor: fc.string({ maxLength: 30 }),
        artifact: fc.string({ maxLength: 12 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(segment, query, async (id, q) => {
        const qs = new URLSearchParams(q as Record<string, string>).toString();
        const path = `/v1/jobs/${encodeURIComponent(id)}`;
        await send('GET', `/v1/jobs?${qs}`);
        await send('GET', path);
        await send('GET', `${path}/result?${qs}`);
        await send('DELETE', path);
        await send('GET', `/v1/benchmarks/${encodeURIComponent(id)}`);
        await send('GET', `/v1/benchmarks/${encodeURIComponent(id)}/report?${qs}`);
      }),
      { numRuns: 120, seed: SEED, endOnFailure: true },
    );
    const credential = fc.oneof(
      fc.stringMatching(/^[\x20-\x7e]{0,200}$/),
      fc.stringMatching(/^sek_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/).map((k) => `Bearer ${k}`),
      fc.base64String({ maxLength: 80 }).map((b) => `Basic ${b}`),
    );
    await fc.assert(
      fc.asyncProperty(credential, async (authorization) => {
        const res = await send('GET', '/v1/jobs', { headers: { authorization } });
        assert.equal(res.status, 401, `a random credential is never accepted: ${authorization}`);
      }),
      { numRuns: 150, seed: SEED, endOnFailure: true },
    );
  });

  test('afterwards: the records are exactly the 202s, each with its upload and its queued flow; no orphans', async (t) => {
    const records = await client.zrange(JOB_KEYS.all, '0', '-1');
    assert.deepEqual([...records].sort(), [...accepted].sort(), 'a record for every 202, and only for them');
    const analyze = new Queue('analyze', { connection: client });
    try {
      for (const id of records) {
        assert.equal(await client.hget(JOB_KEYS.record(id), 'state'), 'queued');
        assert.ok(await store.exists(jobKeys(id).input), `${id}: its upload is stored`);
        assert.ok(await analyze.getJob(bullJobId.analyze(id)), `${id}: its flow is queued`);
      }
    } finally {
      await analyze.close();
    }
    // Benchmarks: a record for every 202 and only for them (nothing runs them here: no trainer serves the queue).
    const benchmarkRecords = (await client.keys('farm:benchmark:*')).map((k) => k.slice('farm:benchmark:'.length));
    assert.deepEqual(benchmarkRecords.sort(), [...benchmarks].sort());
    const prefixes = new Set((await store.list('')).map((o) => o.key.split('/')[1]!));
    for (const id of prefixes) assert.ok(records.includes(id), `stored jobs/${id}/ without a record`);
    t.diagnostic(
      `seed ${SEED}; answers by status: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; ${records.length} jobs accepted`,
    );
  });
});
