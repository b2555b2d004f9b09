import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { InputError, ToolError, type ProgressListener } from '@streamedit/pipeline';
import { parseChildLine } from './child-protocol';

/** Options of {@link runInChildProcess}. */
export interface ChildProcessOptions {
  /** Interpreter. Default: this Node (`process.execPath`); `/usr/bin/python3` for a Python child. */
  readonly execPath?: string;
  readonly cwd?: string;
  /** Extra environment (merged over this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** After SIGTERM to the child's process group, how long before SIGKILL. Default 2000 ms (the tree is gone < 5 s). */
  readonly killGraceMs?: number;
  /** Called with every non-protocol stdout line and stderr line (logs). */
  readonly onLog?: (line: string) => void;
}

const STDERR_TAIL = 8192;

/**
 * Runs `module` (a compiled `.js` under dist/, or a script for `execPath`) in a child process and resolves with the
 * value it sends (see `child-protocol.ts`), relaying its progress lines to `onProgress`. Heavy stage work (training)
 * runs this way so the worker's event loop stays free and BullMQ keeps renewing the job's lock.
 *
 * The child leads its own process group: cancelling (`signal`) sends SIGTERM to the whole group, then SIGKILL after
 * `killGraceMs`, and the promise settles only once the child has exited (so no child outlives a cancelled stage).
 *
 * @throws the signal's reason when aborted; `InputError` when the child reports bad input; `ToolError` (with the
 *   stderr tail as `details`) for any other failure.
 */
export function runInChildProcess<T = unknown>(
  module: string,
  args: readonly string[],
  signal?: AbortSignal,
  onProgress?: ProgressListener,
  options: ChildProcessOptions = {},
): Promise<T> {
  signal?.throwIfAborted();
  const child = spawn(options.execPath ?? process.execPath, [module, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let result: unknown = undefined;
  let failure: { message: string; input?: boolean } | undefined;
  let stderr = '';

  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = parseChildLine(line);
    if (!msg) return options.onLog?.(line);
    if (msg.type === 'progress') onProgress?.({ stage: msg.stage, done: msg.done, total: msg.total, info: msg.info });
    else if (msg.type === 'result') result = msg.value;
    else failure = msg;
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr = `${stderr}${line}\n`.slice(-STDERR_TAIL);
    options.onLog?.(line);
  });
  // The child watches stdin to notice when this process dies; ignore EPIPE once it has exited.
  child.stdin!.on('error', () => {});

  let killTimer: NodeJS.Timeout | undefined;
  const kill = () => {
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 2000);
  };
  signal?.addEventListener('abort', kill, { once: true });

  return new Promise<T>((resolve, reject) => {
    child.once('error', (err) => {
      signal?.removeEventListener('abort', kill);
      reject(new ToolError(`Could not start ${module}: ${err.message}.`, '', { cause: err }));
    });
    child.once('close', (code, sig) => {
      signal?.removeEventListener('abort', kill);
      if (killTimer) clearTimeout(killTimer);
      // Grandchildren that ignored SIGTERM must not outlive the stage either.
      killGroup(child.pid, 'SIGKILL');
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve(result as T);
      if (failure?.input) return reject(new InputError(failure.message));
      const why = failure?.message ?? (sig ? `killed by ${sig}` : `exit code ${code}`);
      reject(new ToolError(`Child process ${module} failed: ${why}`, stderr));
    });
  });
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}
