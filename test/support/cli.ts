/**
 * Runs the built CLI (`node bin/streamedit.js …`) as a user would, capturing exit code, stdout and stderr.
 * Asynchronous (no spawnSync), so a test's own timers and child processes keep running meanwhile.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { REPO_ROOT } from '@streamedit/pipeline';

export const CLI = resolve(REPO_ROOT, 'bin/streamedit.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `streamedit ...args`; never rejects for a non-zero exit (tests assert on `code`). */
export function runCli(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (code === null) return fail(err);
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The stderr lines that are not progress-bar redraws. */
export function errorLines(stderr: string): string[] {
  return stderr.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.includes('|'));
}
