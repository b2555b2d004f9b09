import pino, { type Logger } from 'pino';

/**
 * Structured logs (pino) on stderr, so `--json` output on stdout stays clean.
 * Level from `STREAMEDIT_LOG_LEVEL` (read by the settings module; default `warn` for the CLI, `info` for workers).
 */
let root: Logger | undefined;

export function rootLogger(level = process.env.STREAMEDIT_LOG_LEVEL ?? 'warn'): Logger {
  root ??= pino(
    { level, base: { pid: process.pid }, redact: { paths: ['*.secret', '*.apiKey', '*.password', '*.token'], censor: '[redacted]' } },
    pino.destination(2),
  );
  return root;
}

export function logger(component: string): Logger {
  return rootLogger().child({ component });
}
