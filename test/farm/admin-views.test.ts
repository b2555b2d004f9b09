/**
 * The admin dashboard's pure parts: ETA, which stored images it shows (checked against the keys the real pipeline
 * stages write, so the two cannot drift apart), the ARR windows it reads from training.json, and the logger tee
 * that feeds a job's event log.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { jobKeys, keepSample, teeLogger, TRAINING_SAMPLE_LIMIT, type JobLogSink } from '@streamedit/farm';
import { editedKeyframeKey } from '@streamedit/farm/stages/job-edit';
import { WINDOW_FILES } from '@streamedit/farm/stages/render-stage';
import { arrWindows, classifyThumbnail, estimateEtaS, pickThumbnails } from '../../apps/api/src/admin/admin-views';

const ID = '0b6a2a3e-6f1e-4c8e-9a4e-2f0d6c1b9d7a';

test('ETA: the rest at the average rate so far; none before progress, after the end, or without a start', () => {
  const startedAt = '2026-01-01T00:00:00.000Z';
  const t0 = Date.parse(startedAt);
  assert.equal(estimateEtaS({ state: 'training', progress: 25, startedAt }, t0 + 60_000), 180);
  assert.equal(estimateEtaS({ state: 'rendering', progress: 80, startedAt }, t0 + 400_000), 100);
  assert.equal(estimateEtaS({ state: 'queued', progress: 0, startedAt: null }, t0), null);
  assert.equal(estimateEtaS({ state: 'analyzing', progress: 0, startedAt }, t0 + 5000), null);
  assert.equal(estimateEtaS({ state: 'done', progress: 100, startedAt }, t0 + 5000), null);
  assert.equal(estimateEtaS({ state: 'cancelled', progress: 40, startedAt }, t0 + 5000), null);
});

test('thumbnails: the real stages’ images are shown in dashboard order and spread; nothing else is', () => {
  const keys = jobKeys(ID);
  const rel = (key: string) => key.slice(keys.prefix.length);
  const stored = [
    rel(keys.input),
    rel(keys.keyframe(0)),
    rel(editedKeyframeKey(keys, 0)),
    rel(keys.file('frames', 'frames.json')),
    rel(keys.model),
    rel(keys.contactSheet),
    rel(keys.report),
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((i) => [
      rel(keys.editedReference(i * 12)),
      rel(keys.windowFile(i, WINDOW_FILES.video)),
      rel(keys.windowFile(i, WINDOW_FILES.stats)),
      rel(keys.windowFile(i, WINDOW_FILES.sheet(i * 12, 'sigma'))),
      rel(keys.windowFile(i, WINDOW_FILES.sheet(i * 12, 'edited'))),
      rel(keys.windowFile(i, WINDOW_FILES.sheet(i * 12, 'original'))),
    ]),
  ];
  const picked = pickThumbnails(stored, 4);
  assert.deepEqual(
    picked.map((t) => t.kind),
    [
      'edit',
      'edit',
      ...Array(4).fill('reference'),
      ...Array(4).fill('original'),
      ...Array(4).fill('propagated'),
      ...Array(4).fill('sigma'),
      'contact-sheet',
    ],
  );
  assert.deepEqual(
    picked.filter((t) => t.kind === 'reference').map((t) => t.key),
    [0, 3, 7, 10].map((i) => `references/${i * 12}.png`),
    'spread over the whole job, references in numeric order',
  );
  assert.deepEqual(
    picked.filter((t) => t.kind === 'edit').map((t) => t.label),
    ['edited keyframe @0', 'uploaded keyframe #0'],
  );
  assert.equal(picked.find((t) => t.kind === 'sigma')!.label, 'frame 0 σ');
  for (const key of [
    'input',
    'model.onnx',
    'report.json',
    'windows/0/video.mp4',
    'frames/frames.json',
    'windows/0/../../x.png',
    '/etc/passwd.png',
    'frames/1.png.mp4',
  ])
    assert.equal(classifyThumbnail(key), undefined, key);
});

test('ARR windows from training.json: well-formed windows with their causes; anything else is none', () => {
  assert.deepEqual(
    arrWindows({
      windows: [
        { reference: 0, start: 0, end: 40, cause: 'first' },
        { reference: 40, start: 40, end: 125, cause: 'uncertainty', score: 0.31 },
        { start: 'x' },
      ],
    }),
    [
      { start: 0, end: 40, reference: 0, cause: 'first' },
      { start: 40, end: 125, reference: 40, cause: 'uncertainty', score: 0.31 },
    ],
  );
  for (const bad of [null, {}, { windows: 'no' }, { windows: [{}] }]) assert.equal(arrWindows(bad), null);
});

test('training samples: every n-th iteration so a whole training fits the limit, first and last kept', () => {
  const kept: number[] = [];
  for (let i = 1; i <= 40_000; i++) if (keepSample(i, 40_000, kept[kept.length - 1])) kept.push(i);
  assert.ok(kept.length <= TRAINING_SAMPLE_LIMIT + 1, `${kept.length} samples`);
  assert.ok(kept.length >= TRAINING_SAMPLE_LIMIT - 1, `${kept.length} samples`);
  assert.equal(kept[0], 1);
  assert.equal(kept[kept.length - 1], 40_000);
  assert.ok(keepSample(500, 40_000, 39_000), 'a resumed training (iterations start lower again) is kept');
});

test('logger tee: lines at info and above reach the job log as message + scalar fields; the process log is unchanged', () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
  const base = pino({ level: 'debug' }, sink).child({ component: 'worker', job: ID });
  const events: Parameters<JobLogSink>[0][] = [];
  const log = teeLogger(base, (e) => events.push(e)).child({ stage: 'train', attempt: 2 });
  log.debug('not for operators');
  log.info('stage started');
  log.info({ iterations: 3000, windows: [0, 40], nested: { a: 1 }, restoredFrom: null }, 'model trained');
  log.warn({ err: new Error('socket hang up'), last: false }, 'stage failed');
  log.error(new Error('boom'));
  assert.deepEqual(events, [
    { level: 'info', msg: 'stage started' },
    { level: 'info', msg: 'model trained', data: { iterations: 3000, windows: '0, 40', restoredFrom: null } },
    { level: 'warn', msg: 'stage failed', data: { err: 'socket hang up', last: false } },
    { level: 'error', msg: 'boom', data: { error: 'boom' } },
  ]);
  assert.equal(lines.length, 5, 'every line still goes to the process log');
  assert.match(lines[2]!, /"stage":"train".*"attempt":2.*"msg":"model trained"/);
  assert.equal(log.isLevelEnabled('debug'), true, 'the rest of the logger is the original');
});
