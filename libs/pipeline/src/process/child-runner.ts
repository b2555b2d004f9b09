import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ToolError } from '../errors';

/** How much of a child's stderr is kept for the error (the tail: the end says why it failed). */
export const STDERR_TAIL_CHARS = 8192;

/** Options of {@link runChild}. */
export interface RunChildOptions {
  /** The program (a path or a name on PATH). */
  readonly command: string;
  readonly args: readonly string[];
  /** Shown in error messages, e.g. `the correspondence trainer (train)`. Default: `command`. */
  readonly label?: string;
  readonly cwd?: string;
  /** Extra environment, merged over this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Aborting stops the child's whole process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  readonly signal?: AbortSignal;
  /** After SIGTERM, how long before SIGKILL. Default 2000 ms. */
  readonly killGraceMs?: number;
  /**
   * `pipe` keeps the child's stdin open while this process lives (a child may watch it to notice that its parent
   * died); a string is written to it and closed. Default `ignore`.
   */
  readonly stdin?: 'ignore' | 'pipe' | { readonly text: string };
  /** Every stdout line. */
  readonly onStdoutLine?: (line: string) => void;
  /** Every stderr line (the tail is also kept for the result). */
  readonly onStderrLine?: (line: string) => void;
}

/** How a child ended. */
export interface ChildExit {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last {@link STDERR_TAIL_CHARS} characters of its stderr. */
  readonly stderrTail: string;
  /** The last non-empty stderr line (often the one-line reason). */
  readonly lastStderrLine: string;
}

/**
 * The one runner for spawned programs (the Python trainer and ONNX export, Node stage children, baselines). The
 * child leads its own process group, so stopping it reaches everything it started: abort sends SIGTERM to the group
 * and SIGKILL `killGraceMs` later, and once the child has exited whatever is left of its group is killed too (no
 * grandchild outlives it). Resolves with the exit (any code: callers give codes their meaning, see
 * {@link childFailure}); rejects with the signal's reason when aborted, or a `ToolError` when it cannot start
 * (`cause.code` is the spawn error code, `ENOENT` for a missing program).
 */
export function runChild(options: RunChildOptions): Promise<ChildExit> {
  const { signal } = options;
  signal?.throwIfAborted();
  const stdin = options.stdin ?? 'ignore';
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ? { ...process.env, ...options.env } : process.env,
    detached: true,
    stdio: [stdin === 'ignore' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (child.stdin) {
    // The child may exit before reading; ignore EPIPE.
    child.stdin.on('error', () => {});
    if (typeof stdin === 'object') child.stdin.end(stdin.text);
  }
  let stderr = '';
  const out = createInterface({ input: child.stdout! });
  const err = createInterface({ input: child.stderr! });
  out.on('line', (line) => options.onStdoutLine?.(line));
  err.on('line', (line) => {
    stderr = `${stderr}${line}\n`.slice(-STDERR_TAIL_CHARS);
    options.onStderrLine?.(line);
  });

  let killTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    killGroup(child.pid, 'SIGTERM');
    killTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 2000);
  };
  signal?.addEventListener('abort', stop, { once: true });
  // A grandchild holding the pipes would keep 'close' from firing: on 'exit' the rest of the group goes too.
  child.once('exit', () => killGroup(child.pid, 'SIGKILL'));

  return new Promise<ChildExit>((resolve, reject) => {
    const done = (): void => {
      signal?.removeEventListener('abort', stop);
      if (killTimer) clearTimeout(killTimer);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      done();
      reject(new ToolError(`Could not start ${options.label ?? options.command}: ${e.message}.`, '', { cause: e }));
    });
    child.once('close', (code, sig) => {
      done();
      if (signal?.aborted) return reject(signal.reason);
      const lastStderrLine = stderr.trim().split('\n').pop() ?? '';
      resolve({ code, signal: sig, stderrTail: stderr, lastStderrLine });
    });
  });
}

/** The `ToolError` for a child that failed: what ran, how it ended, its last stderr line; the tail as `details`. */
export function childFailure(label: string, exit: ChildExit): ToolError {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  return new ToolError(
    `${label} failed (${how})${exit.lastStderrLine ? `: ${exit.lastStderrLine}` : '.'}`,
    exit.stderrTail,
  );
}

/** True when a `runChild` rejection says the program does not exist. */
export function isMissingProgram(err: unknown): boolean {
  return err instanceof ToolError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}
