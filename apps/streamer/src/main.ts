import { logger } from '@streamedit/pipeline';
import { describeFarmConfig, loadFarmConfig } from '@streamedit/farm';
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
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal, streams: streamer.registry.size }, 'stopping: ending the open streams');
    streamer.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`streamer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
