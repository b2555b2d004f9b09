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

/** Command lines of every live descendant of `pid` (children, their children, …), from /proc. */
export function descendantCommands(pid: number): string[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited while we looked
    }
  }
  const out: string[] = [];
  const visit = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      try {
        if (isAlive(child)) out.push(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim());
      } catch {
        // exited while we looked
      }
      visit(child);
    }
  };
  visit(pid);
  return out;
}
