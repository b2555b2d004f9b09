import { logger } from '@streamedit/pipeline';
import { describeFarmConfig, loadFarmConfig } from '@streamedit/farm';
import { startApi } from './api-app';

/** The farm's HTTP API (settings: libs/farm/src/config.ts). Stops cleanly on SIGTERM / SIGINT. */
async function main(): Promise<void> {
  process.env.STREAMEDIT_LOG_LEVEL ??= 'info';
  const log = logger('api');
  const config = loadFarmConfig();
  log.info({ config: describeFarmConfig(config) }, 'starting');
  const api = await startApi(config);
  log.info({ url: api.url, docs: `${api.url}/docs` }, 'listening');
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
