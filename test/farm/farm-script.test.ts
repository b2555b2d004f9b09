/**
 * `npm run farm` as a user runs it: the script starts redis-server, the API, the streamer, a trainer and a renderer
 * as separate processes (local storage here, so results are streamed by the API). The workers load the PIPELINE STAGES TEST
 * DOUBLE through FARM_STAGES_MODULE: this is about starting, serving and stopping the farm, not about editing.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '@streamedit/pipeline';
import { probeVideo } from '@streamedit/pipeline/media/video-info';
import { freePort, ping } from '../support/services';
import { pollJob, postJob } from './support/farm-client';
import { waitFor } from './support/processes';

const CLIP = '/work/shared/data/videos/may_theresa_5s_512.mp4';
let farm: ChildProcess | undefined;
let dir: string | undefined;

after(async () => {
  if (farm && farm.exitCode === null) farm.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('npm run farm: starts Redis, API and workers, serves a job end to end, and Ctrl-C stops all of it', async () => {
  dir = await mkdtemp(join(tmpdir(), 'farm-script-'));
  const [port, redisPort, streamerPort] = [await freePort(), await freePort(), await freePort()];
  let output = '';
  farm = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'farm.mjs')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PORT: String(port),
      FARM_STREAMER_PORT: String(streamerPort),
      FARM_STORAGE: 'local',
      FARM_LOCAL_DIR: join(dir, 'store'),
      FARM_STAGES_MODULE: resolve(__dirname, 'support', 'recording-stages.js'),
      FARM_SHUTDOWN_GRACE_S: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  farm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  farm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => farm!.once('exit', (code) => r(code)));

  await waitFor('the farm banner', () => output.includes('Ctrl-C stops everything'), 60_000, 100).catch(
    (err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    },
  );
  const api = `http://127.0.0.1:${port}`;
  assert.match(output, new RegExp(`API +${api}`));
  assert.match(output, new RegExp(`Docs +${api}/docs`));
  assert.match(output, new RegExp(`Redis +redis://127\\.0\\.0\\.1:${redisPort} \\(started here\\)`));
  assert.ok(await ping(redisPort), 'the farm started redis-server');
  const streamer = `http://127.0.0.1:${streamerPort}`;
  assert.match(output, new RegExp(`Streamer +ws://127\\.0\\.0\\.1:${streamerPort}`));
  assert.equal((await fetch(`${streamer}/v1/health`)).status, 200, 'the farm started the streamer');
  const stream = await fetch(`${api}/v1/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ warmup: { frames: 4, edit: { look: 'noir' } } }),
  });
  const created = (await stream.json()) as { url: string };
  assert.equal(stream.status, 201, JSON.stringify(created));
  assert.ok(created.url.startsWith(`ws://127.0.0.1:${streamerPort}/v1/streams/`), 'streams go to that streamer');

  const res = await postJob(api, { video: CLIP, fields: { look: 'noir', preset: 'fast' } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const job = await pollJob(api, String(res.body.id), (j) => j.state === 'done' || j.state === 'failed', 90_000);
  assert.equal(job.state, 'done', JSON.stringify(job));
  // Local storage: the API streams the file itself.
  const result = await fetch(`${api}/v1/jobs/${String(res.body.id)}/result`, { redirect: 'manual' });
  assert.equal(result.status, 200);
  assert.equal(result.headers.get('content-type'), 'video/mp4');
  const out = join(dir, 'out.mp4');
  await writeFile(out, new Uint8Array(await result.arrayBuffer()));
  assert.equal((await probeVideo(out)).frameCount, 125);
  const workers = (await (await fetch(`${api}/v1/workers`)).json()) as Array<{ role: string }>;
  assert.deepEqual(workers.map((w) => w.role).sort(), ['renderer', 'trainer']);

  farm.kill('SIGINT');
  assert.equal(await exited, 0, output);
  assert.match(output, /farm: stopped\./);
  assert.equal(await ping(redisPort), false, 'redis-server stopped');
  await assert.rejects(fetch(`${api}/v1/health`), 'the API stopped');
  await assert.rejects(fetch(`${streamer}/v1/health`), 'the streamer stopped');
  assert.doesNotMatch(output, /second signal/, 'children were stopped once, in order');
});
