import { runWorkerProcess, trainQueue } from '@streamedit/farm';

/**
 * The trainer: analyzes uploads and trains the per-video correspondence. It serves `analyze` and the train queue of
 * its device (`FARM_TRAIN_DEVICE`: `train-cpu` or `train-gpu`); KEDA scales it on that queue's wait list. It also
 * runs benchmark clips (`POST /v1/benchmarks`), which train models too.
 */
runWorkerProcess('trainer', (config) => ['analyze', trainQueue(config.trainDevice)], { benchmarks: true }).catch(
  (err: unknown) => {
    process.stderr.write(`trainer: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
