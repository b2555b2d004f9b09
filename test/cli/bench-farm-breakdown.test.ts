import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobLogEvent, JobRecord, StoreOperation } from '@streamedit/farm';
import { breakdown } from '../../apps/cli/src/bench/farm';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

function span(stage: string, worker: string, start: number, end: number, window?: number): JobLogEvent[] {
  const base = { level: 'info' as const, stage, source: worker, ...(window === undefined ? {} : { window }) };
  return [
    { ...base, at: at(start), msg: 'stage started' },
    { ...base, at: at(end), msg: 'stage done' },
  ];
}

function op(worker: string, atMs: number, ms: number, bytes: number): StoreOperation & { source: string } {
  return { op: 'downloadToFile', key: 'jobs/x/frames/frames.u8', bytes, ms, at: T0 + atMs, ok: true, source: worker };
}

// The farm bench's accounting: hand-offs are the time no stage runs, overhead = hand-offs + storage in the spans.
test('bench farm breakdown: parallel render windows count once, so overhead never goes negative', () => {
  const record = {
    id: 'j',
    preset: 'fast',
    createdAt: at(0),
    finishedAt: at(10_000),
    updatedAt: at(10_000),
  } as unknown as JobRecord;
  const events = [
    ...span('analyze', 'trainer-1', 100, 2_000),
    ...span('train', 'trainer-1', 2_100, 5_000),
    ...span('render', 'renderer-1', 5_100, 9_000, 0),
    ...span('render', 'renderer-2', 5_200, 8_800, 1),
    ...span('mux', 'renderer-1', 9_100, 9_900),
  ];
  const ops = [
    op('trainer-1', 200, 300, 1e6),
    op('renderer-1', 5_150, 100, 2e6),
    op('renderer-2', 5_300, 150, 2e6),
    op('api', 50, 40, 5e5),
  ];
  const b = breakdown(record, events, ops, 10_500);
  assert.equal(b.wallMs, 10_000);
  assert.equal(
    b.handoffMs,
    100 + 100 + 100 + 100 + 100,
    'the gaps before analyze, train, render and mux, and after mux',
  );
  assert.equal(b.storage.ms, 550, 'the API upload lies outside every span');
  assert.equal(b.overheadMs, 1_050);
  assert.ok(b.renderOverlap);
  assert.equal(b.renderSpanMs, 3_900);
  assert.equal(b.preset, 'fast');
});
