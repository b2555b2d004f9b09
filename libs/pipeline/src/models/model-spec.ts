import { InputError } from '../errors';
import { isSha256 } from './verify';

/** A model given by the user rather than by registry name: a path or URL, optionally pinned by checksum. */
export interface ModelSpec {
  /** The path or URL without its `#sha256=` fragment. */
  readonly location: string;
  /** Whether `location` is an http(s) URL (else a file path). */
  readonly remote: boolean;
  /** The checksum the bytes must have, when one was given. */
  readonly sha256?: string;
}

/**
 * Parses `PATH`, `URL`, `PATH#sha256=HEX` or `URL#sha256=HEX` (the form of `STREAMEDIT_DINOV2`).
 * `variable` names the setting the spec came from, for the error on a malformed checksum.
 */
export function parseModelSpec(spec: string, variable: string): ModelSpec {
  const hashAt = spec.lastIndexOf('#sha256=');
  const location = (hashAt >= 0 ? spec.slice(0, hashAt) : spec).trim();
  const sha256 =
    hashAt >= 0
      ? spec
          .slice(hashAt + '#sha256='.length)
          .trim()
          .toLowerCase()
      : undefined;
  if (sha256 !== undefined && !isSha256(sha256)) {
    throw new InputError(
      `${variable} has a malformed checksum "${sha256}": write it as PATH_OR_URL#sha256= followed by 64 hex digits.`,
    );
  }
  if (location === '') throw new InputError(`${variable} is empty: give a model file path or an http(s) URL.`);
  const remote = /^https?:\/\//i.test(location);
  return sha256 === undefined ? { location, remote } : { location, remote, sha256 };
}
