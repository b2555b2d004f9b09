/**
 * Typed errors of the pipeline. `InputError` means the caller gave something unusable (a CLI exits 2, the API
 * answers 4xx, a queue job fails without retry); anything else is an internal fault (exit 1, 5xx, retry).
 */
export class StreamEditError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: the message is one sentence that says what is wrong and what to fix. */
export class InputError extends StreamEditError {}

/** A file given as a video is not a usable video (not a video, truncated, no video stream, zero frames). */
export class InvalidVideoError extends InputError {}

/** A model could not be resolved from any configured place, or failed its checksum. */
export class ModelNotFoundError extends InputError {}

/** An external tool (ffmpeg, python, chromium) failed; `details` keeps its stderr tail for logs. */
export class ToolError extends StreamEditError {
  constructor(
    message: string,
    readonly details = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isInputError(err: unknown): err is InputError {
  return err instanceof InputError;
}
