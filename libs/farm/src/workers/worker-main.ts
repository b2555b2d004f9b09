import { logger } from '@streamedit/pipeline';
import { describeFarmConfig, loadFarmConfig, type FarmConfig } from '../config';
import { loadFarmStages } from '../jobs/load-stages';
import type { QueueName } from '../jobs/queues';
import { createArtifactStore, withDownloadCache } from '../storage/create-store';
import { BenchmarkWorker } from '../benchmarks/benchmark-worker';
import { stopOnSignals } from '../process/stop-on-signals';
import { FarmWorker } from './farm-worker';

/**
 * The whole life of a worker process (apps/trainer, apps/renderer): settings, store, stages, BullMQ workers (and,
 * with `benchmarks`, the benchmark queue's), and a graceful stop on SIGTERM / SIGINT (a second signal exits at once).
 */
export async function runWorkerProcess(
  role: string,
  queues: (config: FarmConfig) => QueueName[],
  options: { readonly benchmarks?: boolean } = {},
): Promise<void> {
  process.env.STREAMEDIT_LOG_LEVEL ??= 'info';
  const log = logger(role);
  const config = loadFarmConfig();
  log.info({ config: describeFarmConfig(config) }, 'starting');
  const store = withDownloadCache(await createArtifactStore(config), config);
  const stages = await loadFarmStages(config);
  const worker = await FarmWorker.start({ config, role, queues: queues(config), stages, store, log });
  const benchmarks = options.benchmarks ? BenchmarkWorker.start({ config, store, log }) : undefined;
  stopOnSignals(log, 'stopping: finishing or handing back the current jobs', () =>
    Promise.all([worker.close(), benchmarks?.close()]).then(() => store.close()),
  );
}
