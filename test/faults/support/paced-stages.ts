/**
 * TEST DOUBLE of the pipeline stages for the fast fault tests: the farm's recording double (real ffmpeg work on
 * the real clip, calls recorded), with a train stage that takes `trainMs` like a real one: it reports progress
 * (a Redis write) every 250 ms and stores a checkpoint file (an S3 write) every second, so an outage of Redis or
 * storage falls in the middle of a running stage.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FarmStages } from '@streamedit/farm';
import { recordingStagesForTest, type StageCallForTest } from '../../farm/support/recording-stages';

export interface PacedStagesOptions {
  readonly calls: StageCallForTest[];
  /** How long the train stage runs before it finishes like the recording double. */
  readonly trainMs: number;
  /** Render windows. Default 2. */
  readonly windows?: number;
  /** Receives the job id at the start of every train attempt (the recording double records only finished loops). */
  readonly trainStarts?: string[];
  /** Receives how long each checkpoint upload took (ms), retries included. */
  readonly checkpointWrites?: number[];
}

export function pacedStagesForTest(options: PacedStagesOptions): FarmStages {
  const inner = recordingStagesForTest({ calls: options.calls, windows: options.windows ?? 2 });
  return {
    ...inner,
    async train(ctx) {
      options.trainStarts?.push(ctx.job.id);
      const started = Date.now();
      const ticks = Math.ceil(options.trainMs / 250);
      for (let i = 1; Date.now() - started < options.trainMs; i++) {
        await sleep(250, undefined, { signal: ctx.signal });
        ctx.progress({
          stage: 'train',
          done: Math.min(i, ticks),
          total: ticks,
          info: { iteration: i, iterations: ticks },
        });
        if (i % 4 === 0) {
          const before = performance.now();
          await ctx.store.putBuffer(ctx.keys.checkpointFile(i, 'state.txt'), `after tick ${i}`);
          options.checkpointWrites?.push(performance.now() - before);
        }
      }
      return inner.train(ctx);
    },
  };
}
