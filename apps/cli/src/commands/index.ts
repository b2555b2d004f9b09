import type { Command } from 'commander';

/** Every CLI command, registered once here. */
export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}

const COMMANDS: ReadonlyArray<(program: Command) => void> = [];
