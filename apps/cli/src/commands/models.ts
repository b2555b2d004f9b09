import type { Command } from 'commander';
import { ModelStore, chooseBackbone, modelNames, type ModelPlace } from '@streamedit/pipeline';
import { action, printJson } from '../run-command';

interface ModelRow {
  name: string;
  file: string;
  bytes: number;
  licence: string;
  /** Where the model resolves now (a verified file), else null. */
  path: string | null;
  source: string | null;
  /** Places holding a file with other bytes than the registry's (skipped). */
  wrongChecksum: string[];
  url: string;
  description: string;
}

/**
 * `streamedit models [--fetch] [--json]`: every registered model, where it resolves (a verified local or cached
 * file) and where it would be downloaded from; `--fetch` downloads the missing ones into the cache (an offline
 * machine can be prepared this way), failing with the reason when one cannot be had.
 */
export function register(program: Command): void {
  program
    .command('models')
    .description('list the models, where each resolves (verified by sha256), and the backbone in use')
    .option('--fetch', 'download every model that is not found locally (needs STREAMEDIT_ALLOW_REMOTE_MODELS)')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { fetch?: boolean; json?: boolean }) => {
        const store = new ModelStore();
        if (opts.fetch) for (const name of modelNames()) await store.locate(name);
        const rows: ModelRow[] = [];
        for (const name of modelNames()) rows.push(row(store, name, await store.inspect(name)));
        const backbone = chooseBackbone(store.settings.dinov2).message;
        if (opts.json) {
          printJson({
            modelsDirs: store.settings.modelsDirs,
            cacheDir: store.cacheDir,
            allowRemoteModels: store.settings.allowRemoteModels,
            backbone,
            models: rows,
          });
          return;
        }
        for (const r of rows) {
          const where = r.path
            ? `${r.source}  ${r.path}`
            : `missing  (${store.settings.allowRemoteModels ? `downloads from ${r.url}` : 'remote download disabled'})`;
          process.stdout.write(`${r.name.padEnd(22)} ${where}\n`);
          for (const bad of r.wrongChecksum) process.stdout.write(`${''.padEnd(22)} skipped, wrong sha256: ${bad}\n`);
        }
        process.stdout.write(`${backbone}\n`);
      }),
    );
}

function row(store: ModelStore, name: string, places: ModelPlace[]): ModelRow {
  const e = store.entry(name);
  const ok = places.find((p) => p.state === 'ok');
  return {
    name,
    file: e.fileName,
    bytes: e.bytes,
    licence: e.licence,
    path: ok?.path ?? null,
    source: ok?.source ?? null,
    wrongChecksum: places.filter((p) => p.state === 'checksum-mismatch').map((p) => p.path),
    url: store.urlOf(name),
    description: e.description,
  };
}
