import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether a process runs (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until `check` is true; returns the milliseconds it took, or throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(everyMs);
  }
  return Date.now() - started;
}

/** The pids the slow test child wrote, once the file exists and holds both. */
export async function readChildPids(path: string, timeoutMs = 30_000): Promise<{ child: number; grandchild: number }> {
  let pids: { child: number; grandchild: number } | undefined;
  await waitFor(
    `the child's pid file ${path}`,
    () => {
      if (!existsSync(path)) return false;
      try {
        pids = JSON.parse(readFileSync(path, 'utf8')) as { child: number; grandchild: number };
      } catch {
        return false; // still being written
      }
      return Number.isInteger(pids.child) && Number.isInteger(pids.grandchild);
    },
    timeoutMs,
  );
  return pids!;
}
