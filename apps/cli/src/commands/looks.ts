import type { Command } from 'commander';
import { listLooks } from '@streamedit/pipeline';
import { action, printJson } from '../run-command';

/** `streamedit looks [--json]`: the built-in looks a user can apply with `edit --look NAME`. */
export function register(program: Command): void {
  program
    .command('looks')
    .description('list the built-in looks (edits that need no asset)')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const looks = listLooks().map(({ name, description }) => ({ name, description }));
        if (opts.json) printJson(looks);
        else for (const l of looks) process.stdout.write(`${l.name.padEnd(10)} ${l.description}\n`);
      }),
    );
}
