/**
 * InstrumentedArtifactStore over a real local store: each call is recorded once with its bytes, and the tally adds
 * them up per operation (what `bench farm` reports as storage time and volume).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  InstrumentedArtifactStore,
  jsonLinesSink,
  LocalArtifactStore,
  tallyStoreOperations,
  type StoreOperation,
} from '@streamedit/farm';

test('every store call is timed once, with the bytes it moved; failures are recorded as not ok', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'instrumented-store-test-'));
  try {
    const ops: StoreOperation[] = [];
    const store = new InstrumentedArtifactStore(new LocalArtifactStore(join(dir, 'store')), (op) => ops.push(op));
    const file = join(dir, 'in.bin');
    await writeFile(file, new Uint8Array(3000).fill(7));
    assert.equal(await store.putFile('jobs/a/in.bin', file), 3000);
    assert.equal(await store.putBuffer('jobs/a/r.json', '{"x":1}'), 7);
    assert.equal(await store.putStream('jobs/a/s.bin', Readable.from([Buffer.alloc(500), Buffer.alloc(250)])), 750);
    await store.downloadToFile('jobs/a/in.bin', join(dir, 'out.bin'));
    assert.equal((await store.getBuffer('jobs/a/r.json')).toString(), '{"x":1}');
    let streamed = 0;
    for await (const chunk of await store.getStream('jobs/a/s.bin')) streamed += (chunk as Buffer).length;
    assert.equal(streamed, 750);
    assert.equal(await store.exists('jobs/a/missing'), false);
    await assert.rejects(store.getBuffer('jobs/a/missing'));

    assert.deepEqual(
      ops.map((o) => [o.op, o.key, o.bytes, o.ok]),
      [
        ['putFile', 'jobs/a/in.bin', 3000, true],
        ['putBuffer', 'jobs/a/r.json', 7, true],
        ['putStream', 'jobs/a/s.bin', 750, true],
        ['downloadToFile', 'jobs/a/in.bin', 3000, true],
        ['getBuffer', 'jobs/a/r.json', 7, true],
        ['getStream', 'jobs/a/s.bin', 750, true],
        ['exists', 'jobs/a/missing', 0, true],
        ['getBuffer', 'jobs/a/missing', 0, false],
      ],
    );
    assert.ok(ops.every((o) => o.ms >= 0 && o.at > 0));
    const tally = tallyStoreOperations(ops);
    assert.deepEqual(
      { count: tally.all.count, bytes: tally.all.bytes },
      { count: 8, bytes: 3000 + 7 + 750 + 3000 + 7 + 750 },
    );
    assert.equal(tally.getBuffer.count, 2);
    assert.equal(Math.round(tally.all.ms * 1000), Math.round(ops.reduce((s, o) => s + o.ms, 0) * 1000));

    // The file sink (FARM_STORE_TIMINGS) writes one JSON line per call, with its source.
    const lines = join(dir, 'ops.jsonl');
    const sink = jsonLinesSink(lines, 'worker-1');
    ops.slice(0, 2).forEach(sink);
    const read = (await readFile(lines, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { source: string; key: string });
    assert.deepEqual(
      read.map((r) => [r.source, r.key]),
      [
        ['worker-1', 'jobs/a/in.bin'],
        ['worker-1', 'jobs/a/r.json'],
      ],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
