import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import ffmpeg, { type FfprobeData } from 'fluent-ffmpeg';
import { ToolError } from '../errors';
import { logger } from '../log';
import { settings, settingVariable } from '../settings';
import { PIPE, type FfmpegSpec } from './ffmpeg-commands';

/**
 * The one place that runs ffmpeg and ffprobe (through fluent-ffmpeg). Commands come as data from
 * `ffmpeg-commands.ts`; failures become `ToolError`s whose `details` keep the tool's stderr tail.
 */

const log = logger('ffmpeg');
/** Lines of stderr kept for error details. */
const STDERR_LINES = 40;

/** fluent-ffmpeg keeps the binary paths process-wide; set them from the settings before each use. */
function useConfiguredBinaries(): void {
  ffmpeg.setFfmpegPath(settings().ffmpegPath);
  ffmpeg.setFfprobePath(settings().ffprobePath);
}

/** The last non-empty line of a tool's stderr: usually the one that says what went wrong. */
export function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** A tool that is not installed where the settings say: say which variable to set. */
function missingTool(tool: 'ffmpeg' | 'ffprobe', err: unknown): ToolError | undefined {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') return undefined;
  const key = tool === 'ffmpeg' ? 'ffmpegPath' : 'ffprobePath';
  return new ToolError(
    `${tool} was not found at "${settings()[key]}": install ffmpeg or set ${settingVariable(key)}.`,
    '',
    { cause: err },
  );
}

/**
 * `ffprobe -show_streams -show_format OPTIONS path`, parsed by fluent-ffmpeg. A non-zero exit rejects with a
 * `ToolError` whose details are ffprobe's stderr (the caller decides whether that means bad input).
 */
export function ffprobe(path: string, options: readonly string[]): Promise<FfprobeData> {
  useConfiguredBinaries();
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(path, [...options], (err: unknown, data: FfprobeData) => {
      if (!err) return resolve(data);
      const missing = missingTool('ffprobe', err);
      if (missing) return reject(missing);
      // fluent-ffmpeg appends stderr to the message after the first line ("ffprobe exited with code 1").
      const message = err instanceof Error ? err.message : String(err);
      const stderr = message.split('\n').slice(1).join('\n');
      reject(
        new ToolError(
          `ffprobe failed on ${path}: ${lastLine(stderr) || message}`,
          stderr.split('\n').slice(-STDERR_LINES).join('\n'),
          { cause: err },
        ),
      );
    });
  });
}

/**
 * ffprobe with `args` as they are (e.g. `audioPacketsProbe`: sections fluent-ffmpeg does not parse), its
 * stdout parsed as JSON (the args must ask for `-of json`). A non-zero exit rejects with a `ToolError`.
 */
export function runFfprobeJson(args: readonly string[]): Promise<unknown> {
  const bin = settings().ffprobePath;
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(JSON.parse(stdout) as unknown);
      const missing = missingTool('ffprobe', err);
      if (missing) return reject(missing);
      const tail = stderr.split('\n').slice(-STDERR_LINES).join('\n');
      reject(new ToolError(`ffprobe failed: ${lastLine(stderr) || err.message}`, tail, { cause: err }));
    });
  });
}

/** A started ffmpeg process. */
export interface FfmpegProcess {
  /** ffmpeg's stdout when the spec's output is {@link PIPE} (backpressure reaches ffmpeg through the pipe). */
  readonly stdout: Readable;
  /** Settles when ffmpeg has exited: resolves on success or after {@link stop}, rejects with a `ToolError` otherwise. */
  readonly done: Promise<void>;
  /** Kills ffmpeg (SIGKILL) if it still runs and waits until it has exited and been reaped; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts ffmpeg for `spec`. `stdin` feeds an input whose source is {@link PIPE}; its errors abort the run and are
 * re-thrown as they are (the caller's own error, not a tool failure).
 */
export function startFfmpeg(spec: FfmpegSpec, stdin?: Readable): FfmpegProcess {
  useConfiguredBinaries();
  const cmd = ffmpeg({ stdoutLines: STDERR_LINES });
  for (const input of spec.inputs) {
    if (input.source === PIPE && !stdin) throw new RangeError('an ffmpeg input reads stdin but no stream was given');
    cmd.input(input.source === PIPE ? stdin! : input.source);
    if (input.options.length > 0) cmd.inputOptions(...input.options);
  }
  if (spec.outputOptions.length > 0) cmd.outputOptions(...spec.outputOptions);
  // No 'close' event on our pipe end: fluent-ffmpeg would treat it as "output stream closed" and end the run
  // before ffmpeg has exited; this way `done` always waits for the real exit status.
  const stdout = new PassThrough({ emitClose: false });
  cmd.output(spec.output === PIPE ? stdout : spec.output);
  if (spec.output !== PIPE) stdout.end();

  let stopped = false;
  let inputError: unknown;
  let child: ChildProcess | undefined;
  stdin?.on('error', (err) => (inputError ??= err));
  // fluent-ffmpeg reports an input stream error at once, before ffmpeg has exited: wait for the exit ourselves.
  const exited = (): Promise<unknown> =>
    child && child.exitCode === null && child.signalCode === null ? once(child, 'exit') : Promise.resolve();
  const done = new Promise<void>((resolve, reject) => {
    cmd.on('start', (line: string) => {
      child = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      log.debug({ line }, 'ffmpeg started');
      if (stopped) cmd.kill('SIGKILL'); // stop() came before the spawn.
    });
    // fluent-ffmpeg emits 'end' / 'error' after the process has exited, except for input stream errors (above).
    cmd.on('end', () => resolve());
    cmd.on('error', (err: Error, _out: string | null, stderr: string | null) => {
      if (stopped) return void exited().then(() => resolve());
      if (inputError !== undefined) {
        child?.kill('SIGKILL'); // not SIGTERM: ffmpeg would still finalise a half-written file
        return void exited().then(() => reject(inputError));
      }
      const missing = missingTool('ffmpeg', err);
      if (missing) return reject(missing);
      const tail = stderr ?? '';
      log.debug({ err: err.message, stderr: tail }, 'ffmpeg failed'); // the ToolError carries it; callers log
      reject(new ToolError(`ffmpeg failed: ${lastLine(tail) || err.message}`, tail, { cause: err }));
    });
  });
  cmd.run();

  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      cmd.kill('SIGKILL');
    }
    await done.catch(() => {});
    stdout.destroy();
  };
  return { stdout, done, stop };
}

/** Runs ffmpeg to completion (file output); rejects like {@link startFfmpeg}'s `done`. */
export async function runFfmpeg(spec: FfmpegSpec, stdin?: Readable): Promise<void> {
  await startFfmpeg(spec, stdin).done;
}
