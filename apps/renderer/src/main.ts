import { runWorkerProcess } from '@streamedit/farm';

/** The renderer: renders the ARR windows in order and muxes the result. Serves `render` and `mux`. */
runWorkerProcess('renderer', () => ['render', 'mux']).catch((err: unknown) => {
  process.stderr.write(`renderer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
