/**
 * What the API promises, checked against what it does (auth on, real Redis, s3rver, the NestJS API, one FarmWorker
 * whose PIPELINE STAGES ARE THE RECORDING TEST DOUBLE): refusals known at upload are made there and leave nothing
 * (no record, no object, no multipart part on the S3 server's disk), the OpenAPI document matches every route, one
 * job representation for REST and SSE (with a signed events URL a browser's EventSource can open), one casing of
 * `error`, no `X-Powered-By` anywhere, idempotency conflicts, clear 409s and 422s, the leftover sweeper, and the
 * admin overview's cancelled count. Each test reproduces a finding of an outside probe of the API (issue 19).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { PNG } from 'pngjs';
import { ApiKeyRepository, JOB_KEYS, loadFarmConfig, type ArtifactStore, type FarmConfig } from '@streamedit/farm';
import type { RunningApi } from '../../apps/api/src/api-app';
import { LeftoverSweeperService } from '../../apps/api/src/services/leftover-sweeper.service';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { jobForm, readSse, type JobForm } from './support/farm-client';
import { startInProcessFarm, type InProcessFarm } from './support/in-process-farm';
import { recordingStagesForTest } from './support/recording-stages';

const CLIP = clipPath('may'); // 512×512, 125 frames

// This farm has no image editor: prompt edits must be refused at upload.
delete process.env.STREAMEDIT_EDITOR_URL;
const PEPPER = 'contract-test-pepper-0123456789';
const ADMIN_TOKEN = 'contract-test-admin-token-0123456789';

/** A PNG of `width`×`height` (grey). */
function png(width: number, height: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(128);
  return PNG.sync.write(image);
}

/** The shape of a JSON value: keys and value types, recursively (arrays by their first item). */
function schemaOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [schemaOf(value[0])] : [];
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, schemaOf(v)]),
  );
}

describe('API contract and refusals at upload (auth on; pipeline stages are a test double)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let farm: InProcessFarm | undefined;
  let api: RunningApi;
  let store: ArtifactStore;
  let client: Redis;
  let tmp: string;
  let alice: string;

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const call = async (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const { key = alice, ...rest } = init;
    const res = await fetch(`${api.url}${path}`, {
      redirect: 'manual',
      ...rest,
      headers: { ...(key ? auth(key) : {}), ...(rest.headers as Record<string, string>) },
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, body, text };
  };
  const post = async (form: JobForm, headers: Record<string, string> = {}) =>
    call('/v1/jobs', { method: 'POST', body: await jobForm(form), headers });
  const untilState = async (id: string, states: string[]) => {
    for (let i = 0; i < 600; i++) {
      const { body } = await call(`/v1/jobs/${id}`);
      if (states.includes(String(body.state))) return body;
      await sleep(100);
    }
    throw new Error(`job ${id} never reached ${states.join('/')}`);
  };
  /** Files s3rver keeps on disk for the bucket outside finished objects' metadata: multipart parts included. */
  const s3rverFiles = async (): Promise<string[]> =>
    (await readdir(s3.directory, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(s3.directory.length));
  /** Records, stored objects, and files on the S3 server's disk. */
  const footprint = async () => ({
    records: await client.zcard(JOB_KEYS.all),
    objects: (await store.list('')).length,
    files: (await s3rverFiles()).length,
  });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-contract-'));
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    config = loadFarmConfig({
      ...farmEnv(redis, s3),
      PORT: '0',
      FARM_AUTH: 'on',
      FARM_AUTH_PEPPER: PEPPER,
      FARM_ADMIN_TOKEN: ADMIN_TOKEN,
      FARM_MAX_IMAGE_MB: '9',
      FARM_JOB_ATTEMPTS: '1',
      FARM_MAX_ACTIVE_JOBS: '20',
      FARM_SWEEP_INTERVAL_S: '0',
    });
    client = new Redis(redis.url);
    farm = await startInProcessFarm(config, recordingStagesForTest({ windows: 1, pidDir: tmp }));
    ({ api, store } = farm);
    alice = (await new ApiKeyRepository(client, PEPPER).create('user', 'alice')).key;
  });

  after(async () => {
    await farm?.close();
    client?.disconnect();
    await Promise.all([s3?.stop(), redis?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });

  test('refusals known at upload: 4xx before any job exists, nothing stored (not even multipart parts)', async () => {
    const before = await footprint();
    assert.equal(before.records, 0);
    const stillPng = join(tmp, 'still.png');
    await writeFile(stillPng, png(512, 512));
    const small = join(tmp, 'small.png');
    await writeFile(small, png(100, 80));
    const text = join(tmp, 'notes.png');
    await writeFile(text, 'this is text, not an image\n'.repeat(50));
    // 10 MiB that starts like a PNG: over FARM_MAX_IMAGE_MB=9, and over the 8 MiB multipart part size.
    const huge = join(tmp, 'huge.png');
    await writeFile(huge, Buffer.concat([png(512, 512), randomBytes(10 * 1024 * 1024)]));

    const cases: Array<[string, JobForm, number, RegExp]> = [
      ['a PNG as the video', { video: stillPng, fields: { look: 'cartoon' } }, 422, /still image \(png, 1 frame\)/],
      [
        'a 100×80 keyframe on a 512² video',
        { video: CLIP, files: { keyframe: small }, fields: { keyframeAt: '0' } },
        422,
        /keyframe image 1 is 100×80 but the video is 512×512/,
      ],
      [
        'a text file as the keyframe',
        { video: CLIP, files: { keyframe: text }, fields: { keyframeAt: '0' } },
        422,
        /keyframe image 1 is not a PNG/,
      ],
      [
        'a prompt edit with no image editor configured',
        { video: CLIP, fields: { prompt: 'make it blue' } },
        422,
        /no image editor for prompt edits/,
      ],
      [
        'frames=99999999 (more than the video has)',
        { video: CLIP, fields: { look: 'cartoon', frames: '99999999' } },
        422,
        /"frames" is 99999999 but the video has 125 frames/,
      ],
      ['at=-3', { video: CLIP, fields: { look: 'cartoon', at: '-3' } }, 400, /"at" must be a frame index/],
      [
        'a 10 MiB keyframe (limit 9 MB)',
        { video: CLIP, files: { keyframe: huge }, fields: { keyframeAt: '0' } },
        413,
        /keyframe image 1 is larger than 9 MB/,
      ],
    ];
    for (const [name, form, status, message] of cases) {
      const res = await post(form);
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assert.match(String(res.body.message), message, name);
      assert.doesNotMatch(String(res.body.message), /\/tmp\/|STREAMEDIT_|FARM_/, `${name}: no server path or setting`);
      assert.deepEqual(await footprint(), before, `${name}: no record, no object, no part on the S3 server's disk`);
    }
  });

  test('upscaleKeyframe: a working-size keyframe is a 422 naming both sizes unless the job asks for the upscale', async () => {
    const s18 = clipPath('s18'); // 1280×720: working size 512×288
    const working = join(tmp, 'working-512x288.png');
    await writeFile(working, png(512, 288));
    const keyframe = (fields: Record<string, string>): JobForm => ({
      video: s18,
      files: { keyframe: working },
      fields: { keyframeAt: '0', frames: '2', preset: 'fast', ...fields },
    });
    const before = await footprint();
    const refusals: Array<[string, JobForm, number, RegExp]> = [
      [
        'no flag',
        keyframe({}),
        422,
        /^The keyframe image 1 is 512×288 but the video is 1280×720: .*upscaleKeyframe=true/,
      ],
      ['upscaleKeyframe=false', keyframe({ upscaleKeyframe: 'false' }), 422, /is 512×288 but the video is 1280×720/],
      [
        'a working-size overlay, no flag',
        { video: s18, files: { overlay: working }, fields: { frames: '8' } },
        422,
        /^The overlay image is 512×288 but the video is 1280×720: .*upscaleKeyframe=true/,
      ],
      ['upscaleKeyframe=yes', keyframe({ upscaleKeyframe: 'yes' }), 400, /"upscaleKeyframe" must be true or false/],
      [
        'a look with the flag',
        { video: s18, fields: { look: 'cartoon', upscaleKeyframe: 'true' } },
        400,
        /"upscaleKeyframe" is for edits sent as images/,
      ],
    ];
    for (const [name, form, status, message] of refusals) {
      const res = await post(form);
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assert.match(String(res.body.message), message, name);
      assert.doesNotMatch(String(res.body.message), /\n/, `${name}: one line`);
      assert.deepEqual(await footprint(), before, `${name}: nothing stored`);
    }
    // The flag as a field or in the options JSON: the job is accepted and says so. A keyframe of the video's own
    // size needs no flag (and its edit does not claim one).
    const full = join(tmp, 'full-1280x720.png');
    await writeFile(full, png(1280, 720));
    const accepted: Array<[JobForm, Record<string, unknown>]> = [
      [keyframe({ upscaleKeyframe: 'true' }), { kind: 'keyframes', keyframeAt: [0], upscaleKeyframe: true }],
      [
        keyframe({ options: '{"upscaleKeyframe":true}' }),
        { kind: 'keyframes', keyframeAt: [0], upscaleKeyframe: true },
      ],
      [
        { ...keyframe({}), files: { keyframe: full } },
        { kind: 'keyframes', keyframeAt: [0] },
      ],
    ];
    const ids: string[] = [];
    for (const [form, edit] of accepted) {
      const res = await post(form);
      assert.equal(res.status, 202, `${JSON.stringify(form.fields)}: ${res.text}`);
      ids.push(String(res.body.id));
      assert.deepEqual((await call(`/v1/jobs/${ids.at(-1)!}`)).body.edit, edit);
    }
    // Only the records matter here: cancel the jobs rather than wait for their renders.
    for (const id of ids) assert.equal((await call(`/v1/jobs/${id}`, { method: 'DELETE' })).status, 202);
    for (const id of ids) await untilState(id, ['cancelled', 'done']);
  });

  test('OpenAPI walk: every route is documented, protected ones with the bearer scheme; the fields the issue named', async () => {
    const doc = (await call('/docs-json', { key: null })).body as {
      paths: Record<
        string,
        Record<
          string,
          {
            security?: unknown[];
            parameters?: Array<{ in: string; name: string }>;
            requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
            responses: Record<string, { content?: Record<string, unknown> }>;
          }
        >
      >;
      components: { securitySchemes: Record<string, { bearerFormat?: string; scheme?: string }> };
    };
    // Every route Nest registered on Express, except the UI and the operators' surfaces (excluded on purpose).
    const router = (
      api.app.getHttpAdapter().getInstance() as {
        router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
      }
    ).router;
    const routes = router.stack
      .filter((l) => l.route)
      .flatMap((l) => Object.keys(l.route!.methods).map((m) => ({ method: m, path: l.route!.path })))
      .filter((r) => !/^\/(admin|metrics|docs)/.test(r.path));
    assert.ok(routes.length >= 12, `found the routes (${routes.length})`);
    for (const { method, path } of routes) {
      const openApiPath = path.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[openApiPath]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is in /docs-json`);
      const concrete = path.replace(/:id/g, randomUUID()).replace(/:(\w+)/g, 'x');
      const res = await fetch(`${api.url}${concrete}`, { method: method.toUpperCase(), redirect: 'manual' });
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-powered-by'), null, `${method} ${path}: no X-Powered-By`);
      if (res.status === 401)
        assert.deepEqual(op.security, [{ bearer: [] }], `${method.toUpperCase()} ${path} needs a key: documented`);
      else assert.equal(op.security, undefined, `${method.toUpperCase()} ${path} is public: no security listed`);
    }
    const scheme = doc.components.securitySchemes.bearer!;
    assert.equal(scheme.scheme, 'bearer');
    assert.notEqual(scheme.bearerFormat, 'JWT', 'keys are sek_…, not JWTs');
    const create = doc.paths['/v1/jobs']!.post!;
    const fields = create.requestBody!.content['multipart/form-data']!.schema.properties;
    assert.ok(fields.frames, 'frames field');
    assert.match(
      String((fields.upscaleKeyframe as { description?: string } | undefined)?.description),
      /working size/,
      'upscaleKeyframe field',
    );
    const idem = (create.parameters ?? []).filter((p) => p.in === 'header' && /^idempotency-key$/i.test(p.name));
    assert.equal(idem.length, 1, 'one Idempotency-Key header');
    const events = doc.paths['/v1/jobs/{id}/events']!.get!;
    assert.ok(events.responses['200']?.content?.['text/event-stream'], '/events documents its 200 event stream');
  });

  test('no X-Powered-By anywhere (bull-board too); `error` is always the HTTP reason phrase', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const [path, headers] of [
      ['/admin/queues/', admin],
      ['/admin/', admin],
      ['/admin/api/overview', admin],
      ['/docs', {}],
      ['/nowhere', {}],
    ] as const) {
      const res = await fetch(`${api.url}${path}`, { headers, redirect: 'manual' });
      await res.arrayBuffer();
      assert.ok(res.status < 500, `${path}: ${res.status}`);
      assert.equal(res.headers.get('x-powered-by'), null, `${path}: no X-Powered-By`);
    }
    const errors = [
      await call('/v1/jobs', { key: null }),
      await call('/v1/jobs', { key: 'sek_nope' }),
      await call(`/v1/jobs/${randomUUID()}`),
      await call('/v1/jobs?limit=0'),
      await call('/v1/jobs', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
      await call('/v1/workers'),
    ];
    assert.deepEqual(
      errors.map((e) => e.status),
      [401, 401, 404, 400, 415, 403],
    );
    for (const e of errors)
      assert.equal(e.body.error, STATUS_CODES[e.status], `${e.status}: ${JSON.stringify(e.body)}`);
  });

  test('one job representation: every SSE event has the GET schema; the signed events URL needs no header', async () => {
    const res = await post({ video: CLIP, fields: { look: 'cartoon', preset: 'fast', frames: '12' } });
    assert.equal(res.status, 202, res.text);
    const id = String(res.body.id);
    const got = await call(`/v1/jobs/${id}`);
    const signed = String((got.body.links as Record<string, string>).events);
    assert.match(signed, /\/events\?access=\d+\.[\w-]{43}$/);
    // An EventSource sends no Authorization header: the signed URL alone must do.
    const { status, events } = await readSse(signed);
    assert.equal(status, 200);
    assert.ok(events.length >= 2, `${events.length} events`);
    assert.equal(events.at(-1)!.event, 'done');
    const final = await call(`/v1/jobs/${id}`);
    // Every event: the same fields as GET, nested objects too (values fill in as the job runs: null → a number).
    const keysOf = (o: unknown) => Object.keys(o as object).sort();
    for (const e of events) {
      assert.deepEqual(keysOf(e.data), keysOf(final.body), `event ${e.event}: GET's fields`);
      for (const nested of ['edit', 'input', 'windows'])
        assert.deepEqual(keysOf(e.data[nested]), keysOf(final.body[nested]), `event ${e.event}: ${nested}`);
    }
    // The final event and GET of the finished job: the same schema, down to every nested type.
    assert.deepEqual(schemaOf(events.at(-1)!.data), schemaOf(final.body), "the done event has GET's schema");
    // Links carry a fresh signature each time: everything else of the last event is what GET returns.
    const withoutLinks = (job: Record<string, unknown>) => ({ ...job, links: null, updatedAt: null });
    assert.deepEqual(
      withoutLinks(events.at(-1)!.data),
      withoutLinks(final.body),
      'the last event is the job GET returns',
    );

    // The result redirect points at the store, which checks its signature (the dev store via its signing gate).
    const result = await call(`/v1/jobs/${id}/result`);
    assert.equal(result.status, 302);
    const location = result.headers.get('location')!;
    const download = await fetch(location);
    assert.equal(download.status, 200, 'the presigned URL works');
    await download.arrayBuffer();
    const sig = new URL(location).searchParams.get('X-Amz-Signature')!;
    const bad = await fetch(location.replace(sig, sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0')));
    await bad.arrayBuffer();
    assert.equal(bad.status, 403, 'a tampered presigned URL is refused');
    const swapped = await fetch(location.replace('/output.mp4', '/report.json'));
    await swapped.arrayBuffer();
    assert.equal(swapped.status, 403, 'the same signature for another key is refused');

    const access = new URL(signed).searchParams.get('access')!;
    const tampered = access.slice(0, -2) + (access.endsWith('AA') ? 'BB' : 'AA');
    const other = await post({ video: CLIP, fields: { look: 'noir', frames: '10' } });
    for (const [what, url] of [
      ['tampered', `${api.url}/v1/jobs/${id}/events?access=${tampered}`],
      ['another job', `${api.url}/v1/jobs/${String(other.body.id)}/events?access=${access}`],
      ['expired', `${api.url}/v1/jobs/${id}/events?access=1.${access.split('.')[1]}`],
      ['not the events route', `${api.url}/v1/jobs/${id}?access=${access}`],
    ]) {
      const r = await fetch(url!);
      await r.arrayBuffer();
      assert.equal(r.status, 401, `${what}: refused`);
    }
    await untilState(String(other.body.id), ['done']);
  });

  test('Idempotency-Key: same body → same job; another body → 422; nothing stored for the conflict', async () => {
    const key = { 'idempotency-key': `contract-${randomUUID()}` };
    const form: JobForm = { video: CLIP, fields: { look: 'cartoon', frames: '10' } };
    const first = await post(form, key);
    assert.equal(first.status, 202, first.text);
    const again = await post(form, key);
    assert.equal(again.status, 202, again.text);
    assert.equal(again.body.id, first.body.id);
    const records = await client.zcard(JOB_KEYS.all);
    const conflict = await post({ video: CLIP, fields: { look: 'noir', frames: '10' } }, key);
    assert.equal(conflict.status, 422, conflict.text);
    assert.match(String(conflict.body.message), /already used with a different request body/);
    assert.equal(await client.zcard(JOB_KEYS.all), records, 'no new record');
    await untilState(String(first.body.id), ['done']);
  });

  test('a cancelled job: its result is a 409 saying so; the admin overview counts it cancelled, not failed', async () => {
    // preset quality: the double's train stage runs a slow child process, so the cancel lands while it trains.
    const res = await post({ video: CLIP, fields: { look: 'cartoon', preset: 'quality', frames: '10' } });
    assert.equal(res.status, 202, res.text);
    const id = String(res.body.id);
    await untilState(id, ['training']);
    await sleep(300);
    assert.equal((await call(`/v1/jobs/${id}`, { method: 'DELETE' })).status, 202);
    await untilState(id, ['cancelled']);
    const result = await call(`/v1/jobs/${id}/result`);
    assert.equal(result.status, 409);
    assert.match(String(result.body.message), /was cancelled: it has no result/);

    const admin = { key: ADMIN_TOKEN };
    let queues: Array<{ name: string; counts: Record<string, number> }> = [];
    for (let i = 0; i < 50; i++) {
      queues = (await call('/admin/api/overview', admin)).body.queues as typeof queues;
      if ((queues.find((q) => q.name === 'train-cpu')?.counts.cancelled ?? 0) >= 1) break;
      await sleep(100);
    }
    const byName = Object.fromEntries(queues.map((q) => [q.name, q.counts]));
    assert.ok(byName['train-cpu']!.cancelled! >= 1, JSON.stringify(byName));
    for (const [name, counts] of Object.entries(byName)) assert.equal(counts.failed, 0, `${name}: nothing failed`);
  });

  test('leftover sweeper: a job folder without a record goes once old; live jobs and young folders stay', async () => {
    const orphan = randomUUID();
    await store.putBuffer(`jobs/${orphan}/input`, 'partial upload of a crashed API');
    await store.putBuffer(`jobs/${orphan}/edit/keyframe-0.png`, png(8, 8));
    const live = (await client.zrange(JOB_KEYS.all, '0', '-1'))[0]!;
    const liveObjects = (await store.list(`jobs/${live}/`)).length;
    assert.ok(liveObjects > 0);
    const sweeper = api.app.get(LeftoverSweeperService);

    const young = await sweeper.sweep(Date.now());
    assert.deepEqual(young.orphanJobs, [], 'a folder younger than FARM_SWEEP_AGE_S may be an upload in progress');
    const later = await sweeper.sweep(Date.now() + (config.sweepAgeS + 60) * 1000);
    assert.deepEqual(later.orphanJobs, [orphan]);
    assert.equal(later.objectsDeleted, 2);
    assert.deepEqual(await store.list(`jobs/${orphan}/`), []);
    assert.equal((await store.list(`jobs/${live}/`)).length, liveObjects, 'a job with a record keeps everything');
  });
});
