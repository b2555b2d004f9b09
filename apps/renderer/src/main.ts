import { runWorkerProcess } from '@streamedit/farm';

/**
 * The renderer: renders ARR windows (each its own job, in parallel across renderers and `FARM_CONCURRENCY`, in no
 * particular order) and muxes the result once all are done. Serves `render` and `mux`.
 */
runWorkerProcess('renderer', () => ['render', 'mux']).catch((err: unknown) => {
  process.stderr.write(`renderer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
