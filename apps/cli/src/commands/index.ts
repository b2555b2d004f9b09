import type { Command } from 'commander';
import * as looks from './looks';
import * as models from './models';
import * as probe from './probe';
import * as frames from './frames';
import * as metrics from './metrics';
import * as edit from './edit';
import * as reconstruct from './reconstruct';
import * as bench from './bench';
import * as hdtf from './hdtf';
import * as live from './live';

/** Every CLI command, registered once here. */
export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}

const COMMANDS: ReadonlyArray<(program: Command) => void> = [looks.register, models.register, probe.register, frames.register, metrics.register, edit.register, reconstruct.register, bench.register, hdtf.register, live.register];
