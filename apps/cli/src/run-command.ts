import { isInputError, logger } from '@streamedit/pipeline';

/** Exit codes of the CLI: 0 ok, 2 bad input (one line says what to fix), 1 internal error. */
export const EXIT = { ok: 0, internal: 1, badInput: 2 } as const;

/** Wraps a command action: maps errors to one stderr line and the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
      process.exitCode = EXIT.ok;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (isInputError(err)) {
        process.stderr.write(`error: ${message}\n`);
        process.exitCode = EXIT.badInput;
      } else {
        logger('cli').error({ err }, 'internal error');
        process.stderr.write(`internal error: ${message}\n`);
        process.exitCode = EXIT.internal;
      }
    }
  };
}

/** Prints a JSON document on stdout (the only thing `--json` writes there). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
