/**
 * Fault: bytes in storage change behind the farm's back (bit rot, a bad copy, tampering). Every artifact carries
 * the sha256 it was written with and every read checks it, so a damaged checkpoint is skipped and training resumes
 * from the check before it, and a damaged render segment fails the job with a message naming it: never a silent
 * bad output. Real local store and s3rver, redis-server, API and FarmWorker (stages: the recording TEST DOUBLE).
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import pino from 'pino';
import { fitStateFiles, logger, writeFitState } from '@streamedit/pipeline';
import {
  ArtifactCorruptError,
  ChecksummedArtifactStore,
  createArtifactStore,
  FarmWorker,
  jobKeys,
  LocalArtifactStore,
  loadFarmConfig,
  S3ArtifactStore,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { restoreCheckpoint, storeCheckpoint } from '@streamedit/farm/stages/checkpoints';
import { startApi, type RunningApi } from '../../apps/api/src/api-app';
import { pollJob, postJob } from '../farm/support/farm-client';
import { recordingStagesForTest } from '../farm/support/recording-stages';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';

let tmp: string;
let s3: TestS3;
let redis: TestRedis;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'faults-corrupt-'));
  [s3, redis] = await Promise.all([startS3(), startRedis()]);
});
after(async () => {
  await Promise.all([s3?.stop(), redis?.stop()]);
  await rm(tmp, { recursive: true, force: true });
});

/** Flips one byte of a stored object without the checksummed store knowing (what bit rot does). */
async function corrupt(inner: ArtifactStore, key: string): Promise<void> {
  const bytes = Buffer.from(await inner.getBuffer(key));
  bytes[bytes.length >> 1] ^= 0x40;
  await inner.putBuffer(key, bytes);
}

for (const kind of ['local', 's3'] as const) {
  test(`${kind}: a changed object fails every read with ArtifactCorruptError; intact ones read; sums stay hidden`, async () => {
    const inner: ArtifactStore =
      kind === 'local'
        ? new LocalArtifactStore(join(tmp, 'store'))
        : new S3ArtifactStore({
            bucket: s3.bucket,
            region: 'us-east-1',
            endpoint: s3.endpoint,
            credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
          });
    const store = new ChecksummedArtifactStore(inner);
    const keys = jobKeys(randomUUID());
    const file = join(tmp, `${kind}-model.bin`);
    await writeFile(file, Buffer.alloc(300_000, 7));
    await store.putFile(keys.model, file);
    await store.putBuffer(keys.report, '{"frames": 12}');
    await store.putStream(keys.input, Readable.from([Buffer.from('video bytes')]));
    assert.deepEqual(
      (await store.list(keys.prefix)).map((o) => o.key.slice(keys.prefix.length)),
      ['input', 'model.onnx', 'report.json'],
      'checksums are not listed',
    );
    assert.equal((await store.getBuffer(keys.report)).toString(), '{"frames": 12}');

    for (const key of [keys.model, keys.report, keys.input]) await corrupt(inner, key);
    const out = join(tmp, `${kind}-download.bin`);
    await assert.rejects(store.downloadToFile(keys.model, out), (e: unknown) => {
      assert.ok(e instanceof ArtifactCorruptError);
      assert.match(e.message, new RegExp(`Artifact ${keys.model} is corrupt: its sha256 is [0-9a-f]{12}…`));
      return true;
    });
    await assert.rejects(stat(out), 'the damaged download is not left behind');
    await assert.rejects(store.getBuffer(keys.report), ArtifactCorruptError);
    await assert.rejects(async () => {
      for await (const chunk of await store.getStream(keys.input)) void chunk;
    }, ArtifactCorruptError);

    // Rewritten through the store: checked again, and readable.
    await store.putBuffer(keys.report, '{"frames": 13}');
    assert.equal((await store.getBuffer(keys.report)).toString(), '{"frames": 13}');
    assert.equal(await store.deletePrefix(keys.prefix), 3);
    assert.deepEqual(await inner.list(keys.prefix), [], 'the checksums went with the job');
    await store.close();
  });
}

describe('checkpoints', () => {
  /** A check as the trainer leaves it: weights, ARR state, and the sha256 sidecar ("<hex>  <name>"). */
  async function writeCheck(dir: string, iteration: number): Promise<void> {
    const [checkpoint, , sidecar] = fitStateFiles(iteration);
    const weights = `weights after ${iteration}`;
    await writeFile(join(dir, checkpoint!), weights);
    await writeFitState(dir, { iteration, windows: [], history: [] });
    await writeFile(join(dir, sidecar!), `${createHash('sha256').update(weights).digest('hex')}  ${checkpoint}\n`);
  }

  test('a damaged newest checkpoint is skipped, logged and removed: training resumes from the one before', async () => {
    const inner = new LocalArtifactStore(join(tmp, 'ckpt-store'));
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const ctx = {
      store: new ChecksummedArtifactStore(inner),
      keys: jobKeys(randomUUID()),
      signal: new AbortController().signal,
      log,
    };
    const first = join(tmp, 'attempt-1');
    await mkdir(first, { recursive: true });
    for (const n of [10, 20, 30]) {
      await writeCheck(first, n);
      await storeCheckpoint(ctx, first, n);
    }
    // 30: the weights changed in storage (the store's checksum catches it).
    await corrupt(inner, ctx.keys.checkpointFile(30, fitStateFiles(30)[0]!));
    // 20: written damaged (its sidecar, from the trainer, disagrees with the weights the farm stored).
    await ctx.store.putBuffer(ctx.keys.checkpointFile(20, fitStateFiles(20)[0]!), 'weights after 2O');

    const second = join(tmp, 'attempt-2');
    await mkdir(second, { recursive: true });
    assert.equal(await restoreCheckpoint(ctx, second), 10);
    assert.equal(await readFile(join(second, 'checkpoint-00000010.pt'), 'utf8'), 'weights after 10');
    const skipped = lines.map((l) => JSON.parse(l) as { iteration: number; reason: string });
    assert.deepEqual(
      skipped.map((s) => s.iteration),
      [30, 20],
    );
    assert.match(skipped[0]!.reason, /is corrupt/);
    assert.match(skipped[1]!.reason, /does not match its sha256 sidecar/);
    const left = (await ctx.store.list(ctx.keys.checkpoints)).map((o) => o.key);
    assert.ok(
      left.every((k) => k.includes('iter-10/')),
      `damaged checks removed from storage: ${left.join(', ')}`,
    );
    await assert.rejects(stat(join(second, 'checkpoint-00000030.pt')), 'nothing damaged stays in the model folder');
  });
});

describe('a damaged render segment before mux', () => {
  let config: FarmConfig;
  let api: RunningApi;
  let store: ArtifactStore;
  const workers: FarmWorker[] = [];
  const start = (queues: Array<'analyze' | 'train-cpu' | 'render' | 'mux'>) =>
    FarmWorker.start({
      config,
      role: 'test',
      queues,
      stages: recordingStagesForTest({ windows: 2 }),
      store,
      log: logger('faults-worker'),
      progressIntervalMs: 50,
    }).then((w) => (workers.push(w), w));

  before(async () => {
    config = loadFarmConfig({
      ...farmEnv(redis, s3),
      PORT: '0',
      FARM_JOB_ATTEMPTS: '2',
      FARM_BACKOFF_MS: '100',
    });
    store = await createArtifactStore(config);
    api = await startApi(config);
  });
  after(async () => {
    for (const w of workers) await w.close(1000);
    await api?.close();
    await store?.close();
  });

  test('fails the job with a message naming the damaged artifact; no output is produced', async () => {
    await start(['analyze', 'train-cpu', 'render']);
    const res = await postJob(api.url, { video: clipPath('may'), fields: { look: 'cartoon', preset: 'fast' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = String(res.body.id);
    await pollJob(api.url, id, (j) => (j.windows as { done: number; total: number }).done === 2, 60_000);
    const keys = jobKeys(id);
    await corrupt((store as ChecksummedArtifactStore).inner, keys.windowFile(1, 'part.mp4'));

    await start(['mux']);
    const job = await pollJob(api.url, id, (j) => ['done', 'failed'].includes(String(j.state)), 60_000);
    assert.equal(job.state, 'failed');
    assert.match(
      String(job.error),
      new RegExp(`mux stage failed after 2 attempt\\(s\\): Artifact ${keys.windowFile(1, 'part.mp4')} is corrupt`),
    );
    assert.equal(await store.exists(keys.output), false, 'no output.mp4 made from damaged parts');
    assert.equal((await fetch(`${api.url}/v1/jobs/${id}/result`)).status, 409);
  });
});
