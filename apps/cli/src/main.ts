import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands';
import { EXIT } from './run-command';

const program = new Command('streamedit')
  .description('StreamEdit: edit one frame of a portrait video, propagate it to every frame (embedded mode).')
  .showHelpAfterError()
  .exitOverride();
registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    return;
  }
  process.stderr.write(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = EXIT.internal;
});
