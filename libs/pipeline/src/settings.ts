import { existsSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { delimiter, join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { InputError } from './errors';

/** The repository root (libs/pipeline/src → ../../..), also when running from dist/. */
export const REPO_ROOT = resolve(__dirname, __dirname.includes(`${sep}dist${sep}`) ? '../../../..' : '../../..');

/** Shared read-only models beside a checkout (this workplace's layout); used only when it exists. */
const SHARED_MODELS = resolve(REPO_ROOT, '../shared/models');

const list = z
  .string()
  .transform((s) => s.split(delimiter).filter(Boolean).map((p) => resolve(p)));
const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Every setting of the pipeline, read from the environment in this one place and validated.
 * Each key documents its variable and its default.
 */
const schema = z.object({
  /** `STREAMEDIT_MODELS_DIR`: directories searched first for model files (`:`-separated). Default: `../shared/models` beside the checkout when present. */
  modelsDirs: list.default(existsSync(SHARED_MODELS) ? SHARED_MODELS : ''),
  /** `STREAMEDIT_CACHE_DIR`: where downloaded models and per-video caches go. Default `~/.cache/streamedit`. */
  cacheDir: z.string().transform((p) => resolve(p)).default(join(homedir(), '.cache', 'streamedit')),
  /** `STREAMEDIT_ALLOW_REMOTE_MODELS`: whether a model missing locally may be downloaded from its URL. Default `true`. */
  allowRemoteModels: bool.default('true'),
  /** `STREAMEDIT_MODEL_DOWNLOAD_TIMEOUT_S`: the longest one model download may take, in seconds, before it is abandoned. Default 600. */
  modelDownloadTimeoutS: int(1, 86400).default(600),
  /** `STREAMEDIT_MAX_SIDE`: longer side of the working resolution, in pixels (even). Default 512. */
  maxSide: int(16, 4096).default(512),
  /** `STREAMEDIT_PYTHON`: the interpreter that sees PyTorch. Default `/usr/bin/python3` (Debian's python3-torch). */
  pythonBin: z.string().min(1).default('/usr/bin/python3'),
  /** `STREAMEDIT_TORCH_THREADS`: torch intra-op threads; OpenBLAS is pinned to 1 so threads × BLAS threads ≤ cores. Default: the core count. */
  torchThreads: int(1, 256).default(Math.max(1, cpus().length)),
  /** `STREAMEDIT_CHROMIUM`: headless Chromium that hosts MediaPipe. Default `/usr/bin/chromium-headless-shell`. */
  chromiumPath: z.string().min(1).default('/usr/bin/chromium-headless-shell'),
  /** `STREAMEDIT_FFMPEG` / `STREAMEDIT_FFPROBE`: the ffmpeg binaries. Default: from PATH. */
  ffmpegPath: z.string().min(1).default('ffmpeg'),
  ffprobePath: z.string().min(1).default('ffprobe'),
  /** `STREAMEDIT_DINOV2`: a DINOv2 ONNX file path or URL; when unset the XFeat backbone is used. */
  dinov2: z.string().optional(),
  /** `STREAMEDIT_EDITOR_URL`: HTTP image-editing endpoint for `--prompt` edits (POST JSON {prompt, image: base64 PNG} → PNG). Unset: prompt edits are refused. */
  editorUrl: z.string().url().optional(),
  /** `STREAMEDIT_EDITOR_TOKEN`: bearer token for that endpoint (never logged). */
  editorToken: z.string().optional(),
  /** `STREAMEDIT_EDITOR_TIMEOUT_MS`: how long to wait for the endpoint. Default 120000. */
  editorTimeoutMs: int(100, 3_600_000).default(120_000),
  /** `STREAMEDIT_ORT_THREADS`: onnxruntime intra-op threads. Default: the core count. */
  ortThreads: int(1, 256).default(Math.max(1, cpus().length)),
  /**
   * `STREAMEDIT_ORT_PROVIDER`: where ONNX models run: `cpu`, or `cuda` (an NVIDIA GPU; needs onnxruntime-node
   * installed with `ONNXRUNTIME_NODE_INSTALL=cuda12`, as the GPU images do). Default `cpu`.
   */
  ortProvider: z.enum(['cpu', 'cuda']).default('cpu'),
  /** `STREAMEDIT_SYNTH_THREADS`: threads of guided patch synthesis (1 = on the calling thread). Default: the core count. */
  synthThreads: int(1, 64).default(Math.max(1, cpus().length)),
});

export type Settings = Readonly<z.infer<typeof schema>>;

const ENV: Record<keyof Settings, string> = {
  modelsDirs: 'STREAMEDIT_MODELS_DIR',
  cacheDir: 'STREAMEDIT_CACHE_DIR',
  allowRemoteModels: 'STREAMEDIT_ALLOW_REMOTE_MODELS',
  modelDownloadTimeoutS: 'STREAMEDIT_MODEL_DOWNLOAD_TIMEOUT_S',
  maxSide: 'STREAMEDIT_MAX_SIDE',
  pythonBin: 'STREAMEDIT_PYTHON',
  torchThreads: 'STREAMEDIT_TORCH_THREADS',
  chromiumPath: 'STREAMEDIT_CHROMIUM',
  ffmpegPath: 'STREAMEDIT_FFMPEG',
  ffprobePath: 'STREAMEDIT_FFPROBE',
  dinov2: 'STREAMEDIT_DINOV2',
  ortThreads: 'STREAMEDIT_ORT_THREADS',
  ortProvider: 'STREAMEDIT_ORT_PROVIDER',
  editorUrl: 'STREAMEDIT_EDITOR_URL',
  editorToken: 'STREAMEDIT_EDITOR_TOKEN',
  editorTimeoutMs: 'STREAMEDIT_EDITOR_TIMEOUT_MS',
  synthThreads: 'STREAMEDIT_SYNTH_THREADS',
};

/** Reads and validates the settings; an invalid value is an `InputError` naming the variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Settings> = {}): Settings {
  const raw: Record<string, string | undefined> = {};
  for (const [key, name] of Object.entries(ENV)) raw[key] = env[name] === '' ? undefined : env[name];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path[0] as keyof Settings;
    throw new InputError(`Invalid setting ${ENV[key]}=${JSON.stringify(raw[key])}: ${issue.message}.`);
  }
  return Object.freeze({ ...parsed.data, ...overrides });
}

let cached: Settings | undefined;
/** The process-wide settings, read once. */
export function settings(): Settings {
  cached ??= loadSettings();
  return cached;
}

/** The environment variable behind a setting, for error messages that name what to change. */
export function settingVariable(key: keyof Settings): string {
  return ENV[key];
}
