import { logger } from '@streamedit/pipeline';
import { describeFarmConfig, loadFarmConfig, stopOnSignals } from '@streamedit/farm';
import { startStreamer } from './streamer-app';

/**
 * The streamer: hosts the live sessions of `/v1/streams` (settings: libs/farm/src/config.ts). On SIGTERM / SIGINT
 * it ends its streams (their clients get a closed socket) and exits; a second signal exits at once.
 */
async function main(): Promise<void> {
  process.env.STREAMEDIT_LOG_LEVEL ??= 'info';
  const log = logger('streamer');
  const config = loadFarmConfig();
  log.info({ config: describeFarmConfig(config) }, 'starting');
  const streamer = await startStreamer(config);
  log.info({ url: streamer.url }, 'listening');
  stopOnSignals(
    log,
    'stopping: ending the open streams',
    () => streamer.close(),
    () => ({
      streams: streamer.registry.size,
    }),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`streamer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
