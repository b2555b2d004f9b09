import type { Logger } from 'pino';

/**
 * A graceful stop for a long-running process (workers, the streamer): on the first SIGTERM / SIGINT, log `message`
 * and run `close`, then exit 0 (1 when it fails); a second signal exits at once with 1.
 */
export function stopOnSignals(
  log: Logger,
  message: string,
  close: () => Promise<unknown>,
  fields: () => object = () => ({}),
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, ...fields() }, message);
    close().then(
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
