import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { logger, type LiveEditSession } from '@streamedit/pipeline';
import type { StreamSpec } from './stream-request';

/** Streams at most open at once: each holds a Chromium page and ONNX sessions (and a warm-up, a trainer). */
export const MAX_STREAMS = 4;
/** A stream nobody connected to within this time is dropped (its downloaded model removed). */
export const CONNECT_WITHIN_MS = 60_000;

/** One stream: made by `POST /v1/streams`, run by one WebSocket connection, gone when that connection ends. */
export interface StreamEntry {
  readonly id: string;
  readonly spec: StreamSpec;
  /** A downloaded job's work dir (the session removes it; the registry too, if no session ever started). */
  readonly workDir?: string;
  readonly createdAt: Date;
  connected: boolean;
  session?: LiveEditSession;
  expiry?: NodeJS.Timeout;
}

/** Too many streams are open: a 503 for the client (try again later). */
export class TooManyStreamsError extends Error {}

/**
 * Every stream of this API process, by id: the one place that owns sessions, so a disconnect, an error or a
 * shutdown always closes the session (its browser page, ONNX sessions and files) and forgets the stream.
 */
@Injectable()
export class StreamRegistry implements OnApplicationShutdown {
  private readonly entries = new Map<string, StreamEntry>();
  private readonly log = logger('streams');

  /** Streams registered (waiting for their connection or running). */
  get size(): number {
    return this.entries.size;
  }

  /** Reserves a place, or throws `TooManyStreamsError` (call before any expensive preparation). */
  assertRoom(): void {
    if (this.entries.size >= MAX_STREAMS)
      throw new TooManyStreamsError(
        `${MAX_STREAMS} streams are open, the most this API runs at once: try again when one ends.`,
      );
  }

  /** Registers a stream (its downloaded `workDir` is removed here if there is no room after all). */
  add(spec: StreamSpec, workDir?: string): StreamEntry {
    try {
      this.assertRoom();
    } catch (err) {
      if (workDir) void rm(workDir, { recursive: true, force: true });
      throw err;
    }
    const entry: StreamEntry = { id: randomUUID(), spec, workDir, createdAt: new Date(), connected: false };
    entry.expiry = setTimeout(() => void this.remove(entry.id, 'nobody connected'), CONNECT_WITHIN_MS);
    entry.expiry.unref();
    this.entries.set(entry.id, entry);
    return entry;
  }

  get(id: string): StreamEntry | undefined {
    return this.entries.get(id);
  }

  /** The stream for its (only) connection; undefined when unknown or already connected. */
  claim(id: string): StreamEntry | undefined {
    const entry = this.entries.get(id);
    if (!entry || entry.connected) return undefined;
    entry.connected = true;
    clearTimeout(entry.expiry);
    return entry;
  }

  /** Closes the stream's session (if any), removes its files and forgets it; idempotent. */
  async remove(id: string, why: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    clearTimeout(entry.expiry);
    await entry.session?.close().catch((err: unknown) => this.log.warn({ err, id }, 'closing a live session failed'));
    if (entry.workDir) await rm(entry.workDir, { recursive: true, force: true });
    this.log.info({ id, why }, 'stream removed');
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.remove(id, 'shutdown')));
  }
}
