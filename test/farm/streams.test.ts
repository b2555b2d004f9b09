/**
 * Live streams: `POST /v1/streams` on the API and the WebSocket at `/v1/streams/{id}?token=…` on the streamer
 * (apps/streamer), both started in-process on a real redis-server and S3 server (s3rver). A finished job is made the way the farm leaves one (its analysis,
 * model and edited references in storage, its record `done`) from a real embedded fit (tiny preset, 128 px), and the
 * sessions run for real: Chromium landmarks, XFeat and the PPCE model in ONNX Runtime.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import {
  decodeFrameMessage,
  decodeFrames,
  editVideo,
  frameFromMessage,
  frameToMessage,
  LiveEditSession,
  psnr,
  workLayout,
  type FrameMessage,
  type RgbFrame,
} from '@streamedit/pipeline';
import {
  CONNECT_WITHIN_MS,
  createArtifactStore,
  jobKeys,
  JobRepository,
  loadFarmConfig,
  signStreamToken,
  STREAM_KEYS,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import type { StreamRegistry } from '../../apps/streamer/src/stream-registry';
import { startStreamer, type RunningStreamer } from '../../apps/streamer/src/streamer-app';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { childCommands } from '../support/tools';
import { waitFor } from './support/processes';

const SIDE = 128;
const SECRET = 'streams-test-secret-0123456789';

/** One WebSocket client of a stream: every message it got, decoded. */
class StreamClient {
  readonly json: Array<Record<string, unknown>> = [];
  readonly frames: FrameMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (binary) this.frames.push(decodeFrameMessage(new Uint8Array(data)));
      else this.json.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async connect(url: string): Promise<StreamClient> {
    const ws = new WebSocket(url);
    const client = new StreamClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** The first JSON message of `type`, waiting for it. */
  async message(type: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    await waitFor(`a "${type}" message`, () => this.json.some((m) => m.type === type), timeoutMs);
    return this.json.find((m) => m.type === type)!;
  }

  send(frame: RgbFrame, index: number, format: 'rgb' | 'jpeg' = 'rgb'): void {
    this.ws.send(frameToMessage(frame, index, format));
  }
}

describe('live streams: the API hands out, the streamer runs them (real sessions, tiny preset)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let api: RunningApi;
  let streamer: RunningStreamer;
  let store: ArtifactStore;
  let client: Redis;
  let tmp: string;
  let registry: StreamRegistry;
  let jobId: string;
  const frames: RgbFrame[] = [];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-streams-test-'));
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    const env = { ...farmEnv(redis, s3), PORT: '0', FARM_STREAMER_PORT: '0', FARM_STREAM_SECRET: SECRET };
    streamer = await startStreamer(loadFarmConfig(env));
    config = loadFarmConfig({ ...env, FARM_STREAMER_URL: streamer.url });
    client = new Redis(redis.url);
    store = await createArtifactStore(config);
    api = await startApi(config);
    registry = streamer.registry;
    const workDir = join(tmp, 'work');
    await editVideo(clipPath('may'), { kind: 'look', name: 'cartoon' }, join(tmp, 'fitted.mp4'), {
      preset: 'tiny',
      maxIterations: 10,
      maxFrames: 8,
      maxSide: SIDE,
      workDir,
    });
    jobId = await storeFinishedJob(workDir);
    for await (const f of decodeFrames(clipPath('may'), { maxSide: SIDE, count: 12 })) frames.push(f);
  });

  after(async () => {
    await api?.close();
    await streamer?.close();
    await store?.close();
    client?.disconnect();
    await Promise.all([s3?.stop(), redis?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });

  /** A job as the farm leaves it when done: record `done` with its windows; analysis, model, edits in storage. */
  async function storeFinishedJob(workDir: string): Promise<string> {
    const id = randomUUID();
    const keys = jobKeys(id);
    const dirs = workLayout(workDir);
    for (const folder of ['frames', 'landmarks', 'features'] as const) {
      for (const name of await readdir(dirs[folder]))
        await store.putFile(keys.file(folder, name), join(dirs[folder], name));
    }
    await store.putFile(keys.model, join(dirs.model, 'model.onnx'));
    await store.putFile(keys.editedReference(0), join(dirs.edits, 'ref-0.png'));
    await store.putFile(keys.sourceReference(0), join(dirs.edits, 'ref-0-source.png'));
    const jobs = new JobRepository(client);
    await jobs.create({
      id,
      stage: null,
      progress: 0,
      edit: { kind: 'look', name: 'cartoon', at: 0 },
      preset: 'fast',
      priority: 'normal',
      device: 'cpu',
      input: { bytes: 1, width: 512, height: 512, fps: 25, frameCount: 8, durationS: 0.32, codec: 'h264' },
      frames: 8,
      iterations: null,
      windows: null,
      windowsDone: 0,
      timings: {},
      error: null,
      startedAt: null,
      finishedAt: null,
    });
    for (const state of ['analyzing', 'training', 'rendering', 'muxing'] as const) await jobs.transition(id, state);
    await jobs.transition(id, 'done', {
      windows: [{ index: 0, reference: 0, start: 0, end: 8 }],
      iterations: { done: 10, total: 10 },
    });
    return id;
  }

  async function createStream(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${api.url}/v1/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Nothing left running: no stream registered, no session open, no Chromium child. */
  async function assertCleanedUp(): Promise<void> {
    await waitFor('the stream to be removed', () => registry.size === 0 && LiveEditSession.openSessions === 0, 20_000);
    await waitFor(
      'the landmark browser to exit',
      () => !childCommands().some((c) => /chrom|headless/i.test(c)),
      20_000,
    );
  }

  test('a finished job: frames sent over the socket come back edited, in order, with the client’s indices', async () => {
    // `block`: the socket holds the client back instead of dropping frames (drop-oldest is the default). Threshold 0
    // and persistence 1: every frame passes (the first one too: the stream is not the fitted video), so online ARR
    // replaces the reference as often as the budget (2 per 100 frames) allows: at the first two frames.
    const arr = { threshold: 0, budgetPer100: 2, persistence: 1 };
    const created = await createStream({ jobId, policy: 'block', arr });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(
      String(created.body.url),
      new RegExp(`^${streamer.url.replace('http', 'ws')}/v1/streams/${created.body.id}\\?token=\\d+\\.[\\w-]{43}$`),
      'the socket is the streamer’s, with a signed token',
    );
    const stream = await StreamClient.connect(String(created.body.url));
    const hello = await stream.message('hello');
    // The job's source-size edit came down with it: frames may be sent at the source size (or, as here, the working size).
    assert.deepEqual(
      [hello.size, hello.working],
      [
        { width: 512, height: 512 },
        { width: SIDE, height: SIDE },
      ],
    );
    const indices = frames.map((_, i) => 1000 + 10 * i);
    frames.forEach((f, i) => stream.send(f, indices[i]!));
    stream.ws.send(JSON.stringify({ type: 'end' }));
    const end = await stream.message('end');
    assert.deepEqual([end.received, end.edited, end.dropped], [12, 12, 0]);
    assert.equal((await stream.closed).code, 1000);
    assert.deepEqual(
      stream.frames.map((m) => m.index),
      indices,
      'every frame back, in order, numbered as sent',
    );
    assert.ok(stream.frames.every((m) => m.format === 'rgb' && m.width === SIDE && m.height === SIDE));
    const replaced = stream.json.filter((m) => m.type === 'reference-replaced');
    assert.deepEqual(
      replaced.map((m) => [m.frame, m.previous, m.cause]),
      [
        [1000, null, 'uncertainty'],
        [1010, 1000, 'uncertainty'],
      ],
      'events name frames by the client’s indices',
    );
    assert.ok(replaced.every((m) => Number(m.score) > 0));

    // The socket adds nothing: the same frames through a session in this process give the same edit.
    const direct = await LiveEditSession.fromWorkDir(join(tmp, 'work'), {
      policy: 'block',
      arr: { ...arr, maxWindow: Number.POSITIVE_INFINITY },
    });
    const expected: RgbFrame[] = [];
    const consumer = (async () => {
      for await (const f of direct.frames()) expected.push(f.image);
    })();
    for (const f of frames) await direct.push(f);
    direct.end();
    await consumer;
    await direct.close();
    stream.frames.forEach((m, i) => assert.ok(psnr(frameFromMessage(m), expected[i]!) >= 40, `frame ${i}`));
    assert.ok(psnr(frameFromMessage(stream.frames[3]!), frames[3]!) < 35, 'the edit is applied');
    await assertCleanedUp();
  });

  test('a warm-up: JPEG frames sent before the fit come back edited (as JPEG) once it is done', async () => {
    const created = await createStream({
      warmup: { frames: 4, preset: 'tiny', iterations: 5, edit: { look: 'noir' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const stream = await StreamClient.connect(String(created.body.url));
    assert.equal((await stream.message('hello')).warmupFrames, 4);
    frames.slice(0, 6).forEach((f, i) => stream.send(f, i, 'jpeg'));
    stream.ws.send(JSON.stringify({ type: 'end' }));
    const ready = await stream.message('ready');
    assert.deepEqual(
      ready.warmup && [
        (ready.warmup as { frames: number }).frames,
        (ready.warmup as { iterations: number }).iterations,
      ],
      [4, 5],
    );
    await stream.message('end');
    await stream.closed;
    assert.deepEqual(
      stream.frames.map((m) => [m.index, m.format]),
      [0, 1, 2, 3, 4, 5].map((i) => [i, 'jpeg']),
    );
    const noir = frameFromMessage(stream.frames[5]!);
    let colour = 0;
    for (let p = 0; p < noir.data.length; p += 3) colour += Math.abs(noir.data[p]! - noir.data[p + 2]!);
    assert.ok(colour / (noir.data.length / 3) < 12, 'the noir look (black and white) is applied to a live frame');
    await assertCleanedUp();
  });

  for (const [name, payload, code, re] of [
    [
      'a malformed frame',
      () => Buffer.from('these bytes are not a frame message'),
      'malformed-frame',
      /does not start with "SEF1"/,
    ],
    [
      'a frame of the wrong size',
      () => frameToMessage({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) }, 1, 'rgb'),
      'wrong-size',
      /Frame 1 is 64×64 but this session edits 128×128 frames/,
    ],
  ] as const) {
    test(`${name}: a JSON error says what is wrong, the socket closes, the session is cleaned up`, async () => {
      const created = await createStream({ jobId });
      const stream = await StreamClient.connect(String(created.body.url));
      await stream.message('hello');
      stream.send(frames[0]!, 0);
      stream.ws.send(payload());
      const error = await stream.message('error');
      assert.equal(error.code, code);
      assert.match(String(error.message), re);
      assert.equal((await stream.closed).code, 1008);
      await assertCleanedUp();
    });
  }

  test('a client that disconnects mid-stream leaves no stream, no session and no browser behind', async () => {
    const created = await createStream({ jobId });
    const stream = await StreamClient.connect(String(created.body.url));
    await stream.message('hello');
    assert.equal(registry.size, 1);
    assert.equal(LiveEditSession.openSessions, 1);
    frames.forEach((f, i) => stream.send(f, i));
    await waitFor('the first edited frame', () => stream.frames.length > 0);
    stream.ws.terminate();
    await assertCleanedUp();
  });

  test('a client that disconnects during the warm-up fit: the trainer is stopped too', async () => {
    const created = await createStream({
      warmup: { frames: 4, preset: 'tiny', iterations: 100_000, edit: { look: 'noir' } },
    });
    const stream = await StreamClient.connect(String(created.body.url));
    await stream.message('hello');
    frames.slice(0, 4).forEach((f, i) => stream.send(f, i));
    await waitFor('the trainer to start', () => childCommands().some((c) => c.startsWith('python')), 60_000);
    stream.ws.terminate();
    await assertCleanedUp();
    await waitFor('the trainer to exit', () => !childCommands().some((c) => c.startsWith('python')), 20_000);
  });

  test('bad requests: unknown or unfinished job, bad body, unknown or taken stream socket', async () => {
    assert.equal((await createStream({ jobId: randomUUID() })).status, 404);
    const jobs = new JobRepository(client);
    const queued = randomUUID();
    await jobs.create({ ...(await jobs.require(jobId)), id: queued, windows: null });
    const notDone = await createStream({ jobId: queued });
    assert.equal(notDone.status, 409);
    assert.match(String(notDone.body.message), /is queued, not done/);
    for (const body of [
      {},
      { jobId, warmup: { frames: 4, edit: { look: 'noir' } } },
      { jobId: 'nope' },
      { warmup: { frames: 1, edit: { look: 'noir' } } },
      { warmup: { frames: 4, edit: { look: 'noir' } }, policy: 'lossy' },
    ]) {
      const r = await createStream(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(typeof r.body.message, 'string');
    }
    const socket = (id: string, token?: string) =>
      `${streamer.url.replace('http', 'ws')}/v1/streams/${id}${token === undefined ? '' : `?token=${token}`}`;
    const soon = () => Date.now() + CONNECT_WITHIN_MS;
    const unknown = randomUUID();
    await assert.rejects(StreamClient.connect(socket(unknown, signStreamToken(SECRET, unknown, soon()))), /404/);
    const created = await createStream({ jobId });
    const id = String(created.body.id);
    for (const [token, why] of [
      [undefined, 'no token'],
      ['123.abc', 'a malformed token'],
      [signStreamToken('another-secret-0123456789', id, soon()), 'a token signed with another key'],
      [signStreamToken(SECRET, unknown, soon()), 'another stream’s token'],
      [signStreamToken(SECRET, id, Date.now() - 1), 'an expired token'],
    ] as const)
      await assert.rejects(StreamClient.connect(socket(id, token)), /401/, why);
    const first = await StreamClient.connect(String(created.body.url));
    await assert.rejects(StreamClient.connect(String(created.body.url)), /409/);
    first.ws.close();
    await assertCleanedUp();
  });

  test('the API restarts between POST /v1/streams and the connection, and mid-stream: the stream goes on', async () => {
    const created = await createStream({ jobId, policy: 'block' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await api.close(); // the record is in Redis, the session will be in the streamer: nothing is lost with the API
    const stream = await StreamClient.connect(String(created.body.url));
    await stream.message('hello');
    frames.slice(0, 6).forEach((f, i) => stream.send(f, i));
    await waitFor('edited frames while the API is down', () => stream.frames.length > 0, 60_000);
    api = await startApi(config);
    frames.slice(6).forEach((f, i) => stream.send(f, 6 + i));
    stream.ws.send(JSON.stringify({ type: 'end' }));
    const end = await stream.message('end');
    assert.deepEqual([end.received, end.edited, end.dropped], [12, 12, 0]);
    assert.equal((await stream.closed).code, 1000);
    assert.deepEqual(
      stream.frames.map((m) => m.index),
      frames.map((_, i) => i),
    );
    await assertCleanedUp();
    assert.equal(await client.exists(STREAM_KEYS.record(String(created.body.id))), 0, 'the record is gone');
  });

  test('an API without the streamer settings refuses streams with 503, naming the missing one', async () => {
    const base = { ...farmEnv(redis, s3), PORT: '0' };
    for (const [env, missing] of [
      [base, 'FARM_STREAMER_URL'],
      [{ ...base, FARM_STREAMER_URL: streamer.url }, 'FARM_STREAM_SECRET'],
    ] as const) {
      const bare = await startApi(loadFarmConfig(env));
      try {
        for (const body of [{ jobId }, { warmup: { frames: 4, edit: { look: 'noir' } } }]) {
          const res = await fetch(`${bare.url}/v1/streams`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          const answer = (await res.json()) as { message: string };
          assert.equal(res.status, 503, JSON.stringify(answer));
          assert.match(answer.message, new RegExp(`Live streams are not available: ${missing} is not set`));
        }
      } finally {
        await bare.close();
      }
    }
    assert.deepEqual(await client.keys('farm:stream:*'), [], 'no stream record made');
  });
});
