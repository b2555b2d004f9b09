import { InputError, runChild, ToolError, type ProgressListener } from '@streamedit/pipeline';
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

/**
 * Runs `module` (a compiled `.js` under dist/, or a script for `execPath`) in a child process and resolves with the
 * value it sends (see `child-protocol.ts`), relaying its progress lines to `onProgress`. Heavy stage work (training)
 * runs this way so the worker's event loop stays free and BullMQ keeps renewing the job's lock.
 *
 * It runs through the pipeline's `runChild`: the child leads its own process group, cancelling (`signal`) sends
 * SIGTERM to the whole group, then SIGKILL after `killGraceMs`, and the promise settles only once the child has
 * exited (so no child outlives a cancelled stage).
 *
 * @throws the signal's reason when aborted; `InputError` when the child reports bad input; `ToolError` (with the
 *   stderr tail as `details`) for any other failure.
 */
export async function runInChildProcess<T = unknown>(
  module: string,
  args: readonly string[],
  signal?: AbortSignal,
  onProgress?: ProgressListener,
  options: ChildProcessOptions = {},
): Promise<T> {
  let result: unknown = undefined;
  let failure: { message: string; input?: boolean } | undefined;
  const exit = await runChild({
    command: options.execPath ?? process.execPath,
    args: [module, ...args],
    label: module,
    cwd: options.cwd,
    env: options.env,
    signal,
    killGraceMs: options.killGraceMs,
    // The child watches stdin to notice when this process dies.
    stdin: 'pipe',
    onStdoutLine: (line) => {
      const msg = parseChildLine(line);
      if (!msg) return options.onLog?.(line);
      if (msg.type === 'progress') onProgress?.({ stage: msg.stage, done: msg.done, total: msg.total, info: msg.info });
      else if (msg.type === 'result') result = msg.value;
      else failure = msg;
    },
    onStderrLine: options.onLog,
  });
  if (exit.code === 0) return result as T;
  if (failure?.input) throw new InputError(failure.message);
  const why = failure?.message ?? (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`);
  throw new ToolError(`Child process ${module} failed: ${why}`, exit.stderrTail);
}
