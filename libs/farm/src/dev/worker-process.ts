import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@streamedit/pipeline';

/** The farm's app processes (folders under apps/ with a `src/main.ts`). */
export type FarmAppRole = 'api' | 'trainer' | 'renderer' | 'streamer';

/**
 * A farm app (dist/apps/{role}/src/main.js: the API or a worker) as its own process, as `npm run farm` and a
 * deployment run it: for benchmarks and tests that watch or kill workers. It leads its own process group, so a worker can be
 * killed together with its children (a lost node) and `stop()` never leaves a process behind.
 */
export interface WorkerProcess {
  readonly role: FarmAppRole;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything it wrote (stdout + stderr: its pino logs), for assertions and failure messages. */
  output(): string;
  /** Signals the whole group (the worker and its children). */
  killGroup(signal: NodeJS.Signals): void;
  /** SIGTERM (a graceful stop), SIGKILL to the group after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function startWorkerProcess(role: FarmAppRole, env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'apps', role, 'src', 'main.js')], {
    cwd: REPO_ROOT,
    env: { ...process.env, STREAMEDIT_LOG_LEVEL: 'info', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-400_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return {
    role,
    pid: child.pid!,
    child,
    output: () => output,
    killGroup,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      killGroup('SIGKILL'); // children that outlived it
    },
  };
}
