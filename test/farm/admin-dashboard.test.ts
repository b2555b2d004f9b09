/**
 * The operators' dashboard in a real headless Chromium against the real API, BullMQ on a real redis-server, s3rver
 * and a FarmWorker. The PIPELINE STAGES ARE A TEST DOUBLE (`recordingStagesForTest`, real ffmpeg work on the real
 * clip) whose train stage is slowed down and reports loss and mean σ like the real trainer does, so a job stays in
 * training long enough to watch its progress move and cancel it from the page. Writes docs/admin-dashboard.png.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT, settings } from '@streamedit/pipeline';
import { loadFarmConfig, type FarmConfig, type FarmStages } from '@streamedit/farm';
import type { RunningApi } from '../../apps/api/src/api-app';
import { startInProcessFarm, type InProcessFarm } from './support/in-process-farm';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { getJson, pollJob, postJob } from './support/farm-client';
import { recordingStagesForTest } from './support/recording-stages';

const CLIP = '/work/shared/data/videos/may_theresa_5s_512.mp4'; // 125 frames
const TOKEN = 'dashboard-test-token-0123456789';
const SCREENSHOT = join(REPO_ROOT, 'docs', 'admin-dashboard.png');

/**
 * TEST DOUBLE of a trainer: `iterations` ticks `tickMs` apart, each reporting a decaying loss and mean σ (the
 * fields the real trainer's progress carries), then the recording double's train (checkpoint, model, 3 windows).
 * Preset `fast` trains 40 iterations (about a second); any other preset 600 (half a minute: long enough to cancel).
 */
function slowTrainingStages(base: FarmStages, tickMs = 50): FarmStages {
  return {
    ...base,
    async train(ctx) {
      const iterations = ctx.job.preset === 'fast' ? 40 : 600;
      for (let i = 1; i <= iterations; i++) {
        await sleep(ctx.job.preset === 'fast' ? 25 : tickMs, undefined, { signal: ctx.signal });
        const wobble = 0.01 * Math.sin(i / 3);
        ctx.progress({
          stage: 'train',
          done: i,
          total: iterations,
          info: {
            iteration: i,
            iterations,
            loss: 0.05 + 0.4 * Math.exp(-i / 12) + wobble,
            mean_sigma: 0.03 + 0.2 * Math.exp(-i / 20),
          },
        });
      }
      return { ...(await base.train({ ...ctx, progress: () => {} })), iterations };
    },
  };
}

describe('admin dashboard in headless Chromium (pipeline stages are a test double)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let farm: InProcessFarm | undefined;
  let api: RunningApi;
  let browser: Browser;
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-admin-ui-'));
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    config = loadFarmConfig({
      ...farmEnv(redis, s3),
      PORT: '0',
      FARM_ADMIN_TOKEN: TOKEN,
      FARM_WORKER_ID: 'ui-test-worker',
    });
    farm = await startInProcessFarm(config, slowTrainingStages(recordingStagesForTest({ pidDir: tmp })), {
      heartbeatMs: 500,
      progressIntervalMs: 100,
    });
    ({ api } = farm);
    browser = await chromium.launch({
      executablePath: settings().chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await farm?.close();
    await Promise.all([s3?.stop(), redis?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });

  /** The progress label of a job's row, e.g. `42.5%`. */
  const progressOf = (page: Page, id: string) =>
    page.locator(`#jobs tr[data-job-id="${id}"] .progress-label`).textContent({ timeout: 10_000 });

  test('progress moves while a job trains, a finished job shows windows, curves, images and video, cancel works', async () => {
    const finished = await postJob(api.url, { video: CLIP, fields: { look: 'cartoon', preset: 'fast' } });
    const doneId = String(finished.body.id);
    assert.equal((await pollJob(api.url, doneId, (j) => j.state === 'done' || j.state === 'failed')).state, 'done');
    const running = await postJob(api.url, { video: CLIP, fields: { look: 'vintage', preset: 'balanced' } });
    const runningId = String(running.body.id);

    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: TOKEN },
      viewport: { width: 1440, height: 900 },
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('dialog', (dialog) => void dialog.accept());
    try {
      await page.goto(`${api.url}/admin/`);
      const row = page.locator(`#jobs tr[data-job-id="${runningId}"]`);
      await row.locator('.badge', { hasText: 'training' }).waitFor({ timeout: 20_000 });

      // Two readings of the running job's progress, taken from the page, differ: the dashboard is live.
      const first = await progressOf(page, runningId);
      let second = first;
      for (let waited = 0; second === first && waited < 15_000; waited += 250) {
        await sleep(250);
        second = await progressOf(page, runningId);
      }
      assert.notEqual(second, first, `progress stayed at ${first}`);
      assert.ok(parseFloat(second!) > parseFloat(first!), `progress went from ${first} to ${second}`);
      await page.locator('#workers tr[data-worker-id="ui-test-worker"]', { hasText: runningId.slice(0, 8) }).waitFor();

      // The finished job's detail panel: 3 rendered windows, loss and σ curves, the stored frame, the video.
      await page.locator(`#jobs tr[data-job-id="${doneId}"] td.mono`).click();
      await page.locator('#detail[data-job-id="' + doneId + '"] .state', { hasText: 'done' }).waitFor();
      assert.equal(await page.locator('#timeline rect').count(), 3);
      await page.locator('#loss-chart polyline').waitFor();
      await page.locator('#sigma-chart polyline').waitFor();
      const points = (await page.locator('#loss-chart polyline').getAttribute('points'))!.trim().split(/\s+/);
      assert.equal(points.length, 40, 'one loss sample per iteration of a 40-iteration training');
      await page.locator('#thumbnails img[alt="frame 0"]').waitFor();
      assert.ok(
        await page.locator('#thumbnails img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0),
        'the thumbnail loaded',
      );
      const video = page.locator('#output video');
      assert.equal(await video.getAttribute('src'), `/v1/jobs/${doneId}/result`);
      // The player really plays the output (through the API's redirect to the presigned S3 URL).
      // Metadata is what `preload="metadata"` promises (a first frame may never be fetched); bounded wait.
      await page.waitForFunction(
        () => {
          const v = document.querySelector<HTMLVideoElement>('#output video');
          return v !== null && (v.readyState >= 1 || v.error !== null);
        },
        undefined,
        { timeout: 15_000 },
      );
      const decoded = await video.evaluate((v: HTMLVideoElement) => [
        v.videoWidth,
        v.videoHeight,
        v.duration,
        v.error?.code ?? 0,
      ]);
      assert.equal(decoded[3], 0, 'no media error');
      assert.deepEqual(decoded.slice(0, 2), [512, 512]);
      assert.ok(Math.abs(decoded[2]! - 5) < 0.1, `duration ${decoded[2]}`);
      await page.locator('#events li', { hasText: 'stage done' }).first().waitFor();

      // For the picture only: the player's first frame instead of its spinner when it comes soon (not asserted).
      await page
        .waitForFunction(
          () => (document.querySelector<HTMLVideoElement>('#output video')?.readyState ?? 0) >= 2,
          undefined,
          {
            timeout: 3000,
          },
        )
        .catch(() => {});
      await sleep(800); // the bars' width transition
      await page.screenshot({ path: SCREENSHOT });
      const { size } = await stat(SCREENSHOT);
      assert.ok(size < 300 * 1024, `screenshot is ${size} bytes`);

      // Cancel the running job from its row; the page shows it cancelled.
      await row.locator('button[data-action="cancel"]').click();
      await row.locator('.badge', { hasText: 'cancelled' }).waitFor({ timeout: 10_000 });
      assert.equal(await row.locator('button[data-action="retry"]').count(), 1, 'a cancelled job offers retry');
      const job = (await getJson(`${api.url}/v1/jobs/${runningId}`)).body;
      assert.equal(job.state, 'cancelled');
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  });
});
