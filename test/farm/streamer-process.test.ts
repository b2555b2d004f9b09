/**
 * The API and the streamer as the separate processes `npm run farm` and a deployment run (dist/apps/…/main.js), on
 * a real redis-server and s3rver: while a live session fits its warm-up (a Python trainer) and detects landmarks (a
 * headless Chromium), those children belong to the streamer, and the API process has none at all.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { decodeFrames, frameToMessage, type RgbFrame } from '@streamedit/pipeline';
import { clipPath } from '../support/clips';
import { farmEnv, freePort, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { waitFor } from './support/processes';
import { descendantCommands, startWorkerProcess, type WorkerProcess } from './support/worker-processes';

let redis: TestRedis;
let s3: TestS3;
let api: WorkerProcess;
let streamer: WorkerProcess;
let apiUrl: string;
const frames: RgbFrame[] = [];

before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  const [apiPort, streamerPort] = [await freePort(), await freePort()];
  const env = {
    ...farmEnv(redis, s3),
    FARM_STREAM_SECRET: 'streamer-process-secret-0123',
    FARM_STREAMER_URL: `ws://127.0.0.1:${streamerPort}`,
    FARM_STREAMER_PORT: String(streamerPort),
    PORT: String(apiPort),
  };
  api = startWorkerProcess('api', env);
  streamer = startWorkerProcess('streamer', env);
  apiUrl = `http://127.0.0.1:${apiPort}`;
  const answers = (url: string) => () =>
    fetch(url).then(
      (r) => r.ok,
      () => false,
    );
  await waitFor('the API', answers(`${apiUrl}/v1/health`), 60_000);
  await waitFor('the streamer', answers(`http://127.0.0.1:${streamerPort}/v1/health`), 60_000);
  for await (const f of decodeFrames(clipPath('may'), { maxSide: 128, count: 4 })) frames.push(f);
});

after(async () => {
  await Promise.all([api?.stop(), streamer?.stop()]);
  await Promise.all([s3?.stop(), redis?.stop()]);
});

test('a live session’s Python trainer and Chromium run under the streamer, never under the API', async () => {
  const res = await fetch(`${apiUrl}/v1/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ warmup: { frames: 4, preset: 'tiny', iterations: 100_000, edit: { look: 'noir' } } }),
  });
  const created = (await res.json()) as { url: string };
  assert.equal(res.status, 201, JSON.stringify(created));
  const ws = new WebSocket(created.url);
  const json: Array<{ type: string }> = [];
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (!binary) json.push(JSON.parse(data.toString()) as { type: string });
  });
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await waitFor('hello', () => json.some((m) => m.type === 'hello'), 60_000);
  frames.forEach((f, i) => ws.send(frameToMessage(f, i, 'rgb')));

  const has = (pid: number, re: RegExp) => descendantCommands(pid).some((c) => re.test(c));
  const python = /python/i;
  const chromium = /chrom|headless_shell/i;
  await waitFor('the streamer’s warm-up trainer', () => has(streamer.pid, python), 120_000);
  const underStreamer = descendantCommands(streamer.pid);
  const underApi = descendantCommands(api.pid);
  assert.ok(
    underStreamer.some((c) => chromium.test(c)),
    `Chromium under the streamer: ${underStreamer.join(' | ')}`,
  );
  assert.deepEqual(underApi, [], 'the API process has no child process at all');

  ws.terminate();
  await waitFor('the streamer’s children to exit', () => descendantCommands(streamer.pid).length === 0, 30_000);
  // the log line can trail the children's exit (the session ends them before the registry forgets the stream)
  await waitFor('the streamer to remove the stream', () => /"msg":"stream removed"/.test(streamer.output()), 30_000);
  assert.doesNotMatch(api.output(), /stream connected/, 'the API never saw the socket');
});
