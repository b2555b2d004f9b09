/**
 * `POST /v1/benchmarks` on the farm with the REAL pipeline: the API in this process, two benchmark workers (as
 * trainers run them) on real Redis and an S3-protocol server, each clip reconstructed in a child process with the
 * `fast` preset (tiny model) on its first 8 frames, DIS in the same run. Checks the report against the clips' rows.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger, type HdtfRow } from '@streamedit/pipeline';
import {
  BenchmarkWorker,
  createArtifactStore,
  loadFarmConfig,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { getJson } from './support/farm-client';

const CLIPS = { may: 'may.mp4', d20: 'd20.mp4' } as const;
const FRAMES = 8;

describe('benchmarks on the farm (real pipeline, tiny preset)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let api: RunningApi;
  let store: ArtifactStore;
  let workers: BenchmarkWorker[] = [];
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-benchmarks-'));
    const clips = join(tmp, 'clips');
    await mkdir(clips);
    await symlink(clipPath('may'), join(clips, CLIPS.may));
    await symlink(clipPath('d20'), join(clips, CLIPS.d20));
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    config = loadFarmConfig({
      ...farmEnv(redis, s3),
      FARM_BENCHMARK_DIR: clips,
      FARM_JOB_ATTEMPTS: '1',
      PORT: '0',
    });
    store = await createArtifactStore(config);
    api = await startApi(config);
    const log = logger('benchmark-test');
    workers = [1, 2].map((i) =>
      BenchmarkWorker.start({ config: { ...config, workerId: `bench-test-${i}` }, store, log }),
    );
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.close(1000)));
    await api?.close();
    await store?.close();
    await Promise.all([s3?.stop(), redis?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });

  const post = async (body: string) => {
    const res = await fetch(`${api.url}/v1/benchmarks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('bad requests get 4xx with a message; an unknown benchmark is a 404', async () => {
    const unknownClip = await post(JSON.stringify({ clips: ['nope.mp4'] }));
    assert.equal(unknownClip.status, 422);
    assert.match(String(unknownClip.body.message), /Unknown clip\(s\) nope\.mp4: choose from d20\.mp4, may\.mp4/);
    const badFrames = await post(JSON.stringify({ frames: 0 }));
    assert.equal(badFrames.status, 400);
    assert.match(String(badFrames.body.message), /"frames"/);
    const extra = await post(JSON.stringify({ frame: 8 }));
    assert.equal(extra.status, 400, 'an unknown field is refused, not ignored');
    const malformed = await post('{"clips": [');
    assert.equal(malformed.status, 400);
    assert.match(String(malformed.body.message), /not valid JSON/);
    const missing = await getJson(`${api.url}/v1/benchmarks/00000000-0000-4000-8000-000000000000`);
    assert.equal(missing.status, 404);
    assert.deepEqual((await getJson(`${api.url}/v1/benchmarks/clips`)).body, { clips: ['d20.mp4', 'may.mp4'] });
  });

  test(
    'two clips on two workers: each clip done with its figures, then one report (md, json, csv)',
    { timeout: 600_000 },
    async (t) => {
      const created = await post(JSON.stringify({ frames: FRAMES, preset: 'fast' }));
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const id = String(created.body.id);
      const early = await fetch(`${api.url}/v1/benchmarks/${id}/report`);
      assert.equal(early.status, 409, 'no report before the clips are done');

      let record: Record<string, unknown> = {};
      const started = Date.now();
      const states = new Set<string>();
      while (Date.now() - started < 540_000) {
        record = (await getJson(`${api.url}/v1/benchmarks/${id}`)).body;
        states.add(String(record.state));
        if (record.state === 'done' || record.state === 'failed') break;
        await sleep(500);
      }
      assert.equal(record.state, 'done', JSON.stringify(record));
      assert.ok(states.has('running'), `states seen: ${[...states].join(', ')}`);
      const clips = record.clips as Array<{ clip: string; state: string; psnr: number; ssimPercent: number }>;
      assert.deepEqual(
        clips.map((c) => [c.clip, c.state]),
        [
          ['d20.mp4', 'done'],
          ['may.mp4', 'done'],
        ],
      );

      const json = (await (await fetch(`${api.url}/v1/benchmarks/${id}/report?format=json`)).json()) as {
        rows: HdtfRow[];
      };
      for (const c of clips) {
        const row = json.rows.find((r) => `${r.clip}.mp4` === c.clip)!;
        assert.equal(row.full.all.psnr, c.psnr, 'the record shows the report row');
        assert.equal(row.full.frames, FRAMES);
        assert.ok(row.full.references <= row.full.referenceBudget);
        assert.ok(row.full.streaming && row.withoutArr && row.withoutPpce, 'split and both ablations ran');
        assert.ok(c.psnr > 15 && c.psnr < 60, `${c.clip}: PSNR ${c.psnr}`);
        assert.ok('psnr' in row.dis && row.dis.psnr > 10, `DIS ran in the same job: ${JSON.stringify(row.dis)}`);
        t.diagnostic(`${c.clip}: ${c.psnr.toFixed(2)} dB (DIS ${'psnr' in row.dis ? row.dis.psnr.toFixed(2) : '—'})`);
      }
      const md = await (await fetch(`${api.url}/v1/benchmarks/${id}/report`)).text();
      assert.match(md, /^# HDTF-style reconstruction benchmark/);
      for (const name of ['d20', 'may', 'mean', 'LPIPS: empty'])
        assert.ok(md.includes(name), `report mentions ${name}`);
      const mayPsnr = clips.find((c) => c.clip === 'may.mp4')!.psnr.toFixed(2);
      assert.ok(md.includes(`| ${mayPsnr} `), `the Markdown shows may's PSNR ${mayPsnr}`);
      const csv = await (await fetch(`${api.url}/v1/benchmarks/${id}/report?format=csv`)).text();
      assert.equal(csv.trim().split('\n').length, 4, 'header, two clips, mean');
      assert.equal((await fetch(`${api.url}/v1/benchmarks/${id}/report?format=pdf`)).status, 400);
    },
  );
});
