/**
 * The farm's worker apps as separate processes, for tests that kill or watch them (`startWorkerProcess`, shared
 * with `bench farm`), and a look at their children.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isAlive } from './processes';

export { startWorkerProcess, type WorkerProcess } from '@streamedit/farm';

/** Live processes whose parent is `pid` and whose command line contains `needle`. */
export function childProcessesOf(pid: number, needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle) && isAlive(Number(name))) out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}
