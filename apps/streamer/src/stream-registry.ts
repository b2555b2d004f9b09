import { rm } from 'node:fs/promises';
import { logger, type LiveEditSession } from '@streamedit/pipeline';
import type { StreamRecords, StreamSpec } from '@streamedit/farm';

/** Streams one streamer runs at once: each holds a Chromium page and ONNX sessions (and a warm-up, a trainer). */
export const MAX_STREAMS = 4;

/** One connected stream: claimed from its Redis record by one WebSocket, gone when that connection ends. */
export interface StreamEntry {
  readonly id: string;
  readonly spec: StreamSpec;
  readonly connectedAt: Date;
  /** A downloaded job's work dir (the session removes it; the registry too, if no session ever started). */
  workDir?: string;
  session?: LiveEditSession;
}

/** Too many streams are open here: the client is refused with 503 (try again later). */
export class TooManyStreamsError extends Error {}

/**
 * Every stream of this streamer process, by id: the one place that owns sessions, so a disconnect, an error or a
 * shutdown always closes the session (its browser page, ONNX sessions, trainer and files), deletes the stream's
 * Redis record and forgets the stream.
 */
export class StreamRegistry {
  private readonly entries = new Map<string, StreamEntry>();
  private readonly log = logger('streamer');

  constructor(private readonly records: StreamRecords) {}

  /** Streams connected (starting or running). */
  get size(): number {
    return this.entries.size;
  }

  /** Throws `TooManyStreamsError` when full (checked before a stream's record is claimed). */
  assertRoom(): void {
    if (this.entries.size >= MAX_STREAMS)
      throw new TooManyStreamsError(
        `${MAX_STREAMS} streams are open, the most this streamer runs at once: try again when one ends.`,
      );
  }

  /** Registers a claimed stream for its connection. */
  add(id: string, spec: StreamSpec): StreamEntry {
    this.assertRoom();
    const entry: StreamEntry = { id, spec, connectedAt: new Date() };
    this.entries.set(id, entry);
    return entry;
  }

  /** Closes the stream's session (if any), removes its files and record, and forgets it; idempotent. */
  async remove(id: string, why: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    await entry.session?.close().catch((err: unknown) => this.log.warn({ err, id }, 'closing a live session failed'));
    if (entry.workDir) await rm(entry.workDir, { recursive: true, force: true });
    await this.records
      .remove(id)
      .catch((err: unknown) => this.log.warn({ err, id }, 'deleting a stream record failed'));
    this.log.info({ id, why }, 'stream removed');
  }

  /** Ends every stream (shutdown). */
  async removeAll(why: string): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.remove(id, why)));
  }
}
