import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ModelNotFoundError } from '../errors';
import { logger } from '../log';
import { type Settings, settingVariable, settings as globalSettings } from '../settings';
import { ChecksumMismatch, downloadVerified } from './download';
import { parseModelSpec } from './model-spec';
import { MODEL_REGISTRY, type ModelEntry } from './registry';
import { cachedSha256 } from './verify';

const log = logger('model-store');

/** Where a resolved model came from: a models directory, the download cache, or a download made just now. */
export type ModelSource = 'local' | 'cache' | 'remote';

/** A model file whose bytes were checked (or, for a user-given spec without checksum, hashed for identity). */
export interface ResolvedModel {
  readonly name: string;
  /** Absolute path of the file. */
  readonly path: string;
  /** sha256 of the file's bytes. */
  readonly sha256: string;
  readonly source: ModelSource;
  /** False only for a user-given model without `#sha256=`: its bytes were hashed but could not be checked. */
  readonly verified: boolean;
}

/** One place looked at, and what was found there. */
export interface ModelPlace {
  readonly path: string;
  readonly source: Exclude<ModelSource, 'remote'>;
  readonly state: 'ok' | 'absent' | 'checksum-mismatch';
  /** The checksum found, for `ok` and `checksum-mismatch`. */
  readonly sha256?: string;
}

export interface ModelStoreOptions {
  /** Settings to use (models dirs, cache dir, remote switch, timeout). Default: `settings()`. */
  readonly settings?: Settings;
  /** Per-model download URL overrides by model name (mirrors; tests point them at 127.0.0.1). Default: none. */
  readonly urls?: Readonly<Record<string, string>>;
  /** The known models. Default: `MODEL_REGISTRY`. */
  readonly registry?: Readonly<Record<string, ModelEntry>>;
}

/**
 * Finds model files and guarantees their bytes, in the style of transformers.js: one settings object, and a fixed
 * order — each directory of `STREAMEDIT_MODELS_DIR`, then `STREAMEDIT_CACHE_DIR/models`, then a download from the
 * model's URL when `STREAMEDIT_ALLOW_REMOTE_MODELS` allows it. Every file is checked against the registry's sha256
 * (local files too; the check is memoised per path + mtime + size). A file with other bytes is skipped with a
 * warning; when nothing usable is found, the `ModelNotFoundError` lists every place and the setting to change.
 */
export class ModelStore {
  readonly settings: Settings;
  private readonly urls: Readonly<Record<string, string>>;
  private readonly registry: Readonly<Record<string, ModelEntry>>;
  private readonly inFlight = new Map<string, Promise<ResolvedModel>>();

  constructor(options: ModelStoreOptions = {}) {
    this.settings = options.settings ?? globalSettings();
    this.urls = options.urls ?? {};
    this.registry = options.registry ?? MODEL_REGISTRY;
  }

  /** The download cache of models: `STREAMEDIT_CACHE_DIR/models`. */
  get cacheDir(): string {
    return join(this.settings.cacheDir, 'models');
  }

  /** The registry entry of `name`; an unknown name is a `ModelNotFoundError` listing the known ones. */
  entry(name: string): ModelEntry {
    const e = this.registry[name];
    if (!e)
      throw new ModelNotFoundError(
        `Unknown model "${name}": known models are ${Object.keys(this.registry).join(', ')}.`,
      );
    return e;
  }

  /** The URL `name` is downloaded from (an override, else the registry's official URL). */
  urlOf(name: string): string {
    return this.urls[name] ?? this.entry(name).url;
  }

  /** Absolute path of the verified file of model `name` (see the class comment for the order of places). */
  async resolve(name: string): Promise<string> {
    return (await this.locate(name)).path;
  }

  /** Like `resolve`, with where the file came from and its checksum. Concurrent calls for one name share the work. */
  locate(name: string): Promise<ResolvedModel> {
    let pending = this.inFlight.get(name);
    if (!pending) {
      pending = this.locateOnce(name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return pending;
  }

  /** Every local place of `name` and what is there, without downloading (for `streamedit models`). */
  async inspect(name: string): Promise<ModelPlace[]> {
    const e = this.entry(name);
    const places: ModelPlace[] = [];
    for (const dir of this.settings.modelsDirs) places.push(await checkPlace(join(dir, e.fileName), 'local', e.sha256));
    places.push(await checkPlace(join(this.cacheDir, e.fileName), 'cache', e.sha256));
    return places;
  }

  /**
   * A model given by the user as `PATH`, `URL`, or either with `#sha256=HEX` (e.g. `STREAMEDIT_DINOV2`). A relative
   * path is looked for in the working directory, then in each models directory. A URL is downloaded once into the
   * cache (under a name derived from the URL). Without a checksum the bytes cannot be checked: that is logged, and
   * the file's own sha256 is returned so caches built from it can still name the exact model.
   * `setting` is the settings key the spec came from, so errors name its variable.
   */
  async resolveSpec(spec: string, name: string, setting: keyof Settings): Promise<ResolvedModel> {
    const variable = settingVariable(setting);
    const parsed = parseModelSpec(spec, variable);
    const result = parsed.remote
      ? await this.resolveSpecUrl(parsed.location, parsed.sha256, name, variable)
      : await this.resolveSpecPath(parsed.location, parsed.sha256, name, variable);
    if (!result.verified)
      log.warn(
        { model: name, path: result.path, sha256: result.sha256 },
        `${variable} gives no #sha256=: the model's bytes are not verified`,
      );
    return result;
  }

  private async locateOnce(name: string): Promise<ResolvedModel> {
    const e = this.entry(name);
    const places = await this.inspect(name);
    const found = places.find((p) => p.state === 'ok');
    if (found) return { name, path: found.path, sha256: e.sha256, source: found.source, verified: true };
    for (const p of places.filter((q) => q.state === 'checksum-mismatch')) {
      log.warn(
        { model: name, path: p.path, sha256: p.sha256, expected: e.sha256 },
        'model file has other bytes than the registry: skipped',
      );
    }
    if (!this.settings.allowRemoteModels) throw this.notFound(e, places, 'remote download is disabled');
    const url = this.urlOf(name);
    const dest = join(this.cacheDir, e.fileName);
    await this.download(url, dest, e.sha256, `Model "${name}"`, places);
    return { name, path: dest, sha256: e.sha256, source: 'remote', verified: true };
  }

  /** Downloads into the cache, turning every failure into a `ModelNotFoundError` that says what to change. */
  private async download(
    url: string,
    dest: string,
    sha256: string | undefined,
    what: string,
    places: readonly ModelPlace[],
  ): Promise<void> {
    log.info({ url, dest }, `${what}: downloading`);
    const started = Date.now();
    try {
      const d = await downloadVerified(url, dest, sha256, this.settings.modelDownloadTimeoutS * 1000);
      log.info({ url, dest, bytes: d.bytes, ms: Date.now() - started }, `${what}: downloaded and verified`);
    } catch (err) {
      const looked = describePlaces(places);
      if (err instanceof ChecksumMismatch) {
        throw new ModelNotFoundError(
          `${what} downloaded from ${url} has sha256 ${err.actual} instead of ${err.expected}, so it was deleted${looked}; point the URL at the right file or put the right file in a directory of STREAMEDIT_MODELS_DIR.`,
        );
      }
      const reason =
        err instanceof Error
          ? err.name === 'TimeoutError'
            ? `timed out after ${this.settings.modelDownloadTimeoutS} s (STREAMEDIT_MODEL_DOWNLOAD_TIMEOUT_S)`
            : describeFetchError(err)
          : String(err);
      throw new ModelNotFoundError(
        `${what} could not be downloaded from ${url} into ${dest} (${reason})${looked}; put the file in a directory of STREAMEDIT_MODELS_DIR, or check the network and that STREAMEDIT_CACHE_DIR is writable.`,
        { cause: err },
      );
    }
  }

  private notFound(e: ModelEntry, places: readonly ModelPlace[], why: string): ModelNotFoundError {
    return new ModelNotFoundError(
      `Model "${e.name}" (${e.fileName}) was not found${describePlaces(places)}, and ${why}; put ${e.fileName} (sha256 ${e.sha256}) in a directory of STREAMEDIT_MODELS_DIR or STREAMEDIT_CACHE_DIR/models, or set STREAMEDIT_ALLOW_REMOTE_MODELS=1 to download it from ${this.urlOf(e.name)}.`,
    );
  }

  private async resolveSpecPath(
    location: string,
    sha256: string | undefined,
    name: string,
    variable: string,
  ): Promise<ResolvedModel> {
    const candidates = isAbsolute(location)
      ? [location]
      : [resolve(location), ...this.settings.modelsDirs.map((d) => join(d, location))];
    const places: ModelPlace[] = [];
    for (const path of candidates) {
      const place = await checkPlace(path, 'local', sha256);
      places.push(place);
      if (place.state === 'ok')
        return { name, path, sha256: place.sha256!, source: 'local', verified: sha256 !== undefined };
    }
    throw new ModelNotFoundError(
      `${variable} names a ${name} model that was not found${describePlaces(places)}; set ${variable} to an existing file or an http(s) URL.`,
    );
  }

  private async resolveSpecUrl(
    url: string,
    sha256: string | undefined,
    name: string,
    variable: string,
  ): Promise<ResolvedModel> {
    const dest = join(this.cacheDir, cacheNameForUrl(url));
    const cached = await checkPlace(dest, 'cache', sha256);
    if (cached.state === 'ok')
      return { name, path: dest, sha256: cached.sha256!, source: 'cache', verified: sha256 !== undefined };
    if (!this.settings.allowRemoteModels) {
      throw new ModelNotFoundError(
        `${variable} names a ${name} model at ${url} that is not in the cache${describePlaces([cached])}, and remote download is disabled; set STREAMEDIT_ALLOW_REMOTE_MODELS=1 or set ${variable} to a local file.`,
      );
    }
    await this.download(url, dest, sha256, `The ${name} model of ${variable}`, [cached]);
    return { name, path: dest, sha256: await cachedSha256(dest), source: 'remote', verified: sha256 !== undefined };
  }
}

/** What is at `path`: absent, the expected bytes (or any bytes when no checksum is expected), or other bytes. */
async function checkPlace(
  path: string,
  source: ModelPlace['source'],
  expected: string | undefined,
): Promise<ModelPlace> {
  if (!existsSync(path)) return { path, source, state: 'absent' };
  const sha256 = await cachedSha256(path);
  return {
    path,
    source,
    state: expected === undefined || sha256 === expected.toLowerCase() ? 'ok' : 'checksum-mismatch',
    sha256,
  };
}

function describePlaces(places: readonly ModelPlace[]): string {
  if (places.length === 0) return ' (no directory is configured)';
  const parts = places.map((p) =>
    p.state === 'checksum-mismatch' ? `${p.path} (present but sha256 ${p.sha256} is wrong)` : `${p.path} (${p.state})`,
  );
  return ` (looked at ${parts.join(', ')})`;
}

/** undici wraps the real cause (ECONNREFUSED, ENOTFOUND…) in a generic "fetch failed". */
function describeFetchError(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/** A stable cache file name for a user-given URL: its base name prefixed by a short hash of the whole URL. */
function cacheNameForUrl(url: string): string {
  const base = basename(new URL(url).pathname).replace(/[^\w.-]/g, '_') || 'model.onnx';
  return `url-${createHash('sha256').update(url).digest('hex').slice(0, 12)}-${base}`;
}
