import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { REPO_ROOT } from '@streamedit/pipeline';
import type { FarmConfig } from '../config';
import type { CreateFarmStages, FarmStages } from './stages';

/**
 * Loads the `FarmStages` the workers run from `FARM_STAGES_MODULE`: a module exporting `createFarmStages(config)`.
 * A repository-relative name is looked up in the build (`dist/<name>.js`); an absolute path is used as is. The
 * workers know the pipeline only through this module, so the farm builds and is tested without it.
 */
export async function loadFarmStages(config: FarmConfig): Promise<FarmStages> {
  const path = resolveStagesModule(config.stagesModule);
  if (!existsSync(path)) {
    throw new Error(
      `The farm's pipeline stages are not available: ${path} does not exist. Build the project (npm run build), or ` +
        'set FARM_STAGES_MODULE to a module that exports createFarmStages(config).',
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as { createFarmStages?: CreateFarmStages };
  if (typeof mod.createFarmStages !== 'function') {
    throw new Error(`${path} does not export createFarmStages(config): it cannot provide the farm's stages.`);
  }
  const stages = await mod.createFarmStages(config);
  for (const method of ['analyze', 'train', 'renderWindow', 'mux'] as const) {
    if (typeof stages?.[method] !== 'function') throw new Error(`The stages from ${path} have no ${method}() method.`);
  }
  return stages;
}

/** `dist/<name>.js` for a repository-relative module name, the path itself when absolute. */
export function resolveStagesModule(name: string): string {
  if (isAbsolute(name)) return name;
  const file = name.endsWith('.js') ? name : `${name}.js`;
  return join(REPO_ROOT, file.startsWith('dist/') ? '' : 'dist', file);
}
