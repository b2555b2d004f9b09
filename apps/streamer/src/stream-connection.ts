import { rm } from 'node:fs/promises';
import { WebSocket, type RawData } from 'ws';
import {
  decodeFrameMessage,
  frameFromMessage,
  frameToMessage,
  InputError,
  LiveEditSession,
  logger,
  type FrameFormat,
  type LiveEvent,
  type RgbFrame,
} from '@streamedit/pipeline';
import type { StreamEntry, StreamRegistry } from './stream-registry';

/** Lays out a finished job for a live session: a new work dir (404 / 409 as an `InputError` when it cannot). */
export type JobWorkDirs = (jobId: string) => Promise<string>;

/** Machine-readable reasons of the `error` messages a stream sends before it closes. */
export type StreamErrorCode = 'malformed-frame' | 'wrong-size' | 'bad-input' | 'bad-message' | 'idle' | 'internal';

/** Edited frames between two `latency` messages. */
const STATS_EVERY = 25;
/** Session → client frame numbers kept (frames in flight are far fewer: the queues are bounded). */
const INDEX_HISTORY = 1024;
/** A connected client that sends nothing for this long is disconnected (its session holds a browser page). */
export const IDLE_TIMEOUT_MS = 60_000;

/**
 * One client of one stream, speaking the protocol of `docs` / the README:
 * - in: binary frame messages (`SEF1` header + RGB or JPEG, see stream/wire.ts), text `{"type":"end"}` (no more
 *   frames: the queued ones are still sent back) or `{"type":"stats"}`;
 * - out: `{"type":"hello"}` once frames are accepted, `ready` once editing starts (after a warm-up's fit), the edited
 *   frames in order (same header, the client's frame index), `reference-replaced`, `dropped`, `latency` every
 *   25 frames, `end` with the final stats, and `error` {code, message} before the socket closes on a malformed frame,
 *   a frame of the wrong size or a failure.
 * Whatever ends the connection, the registry closes the session and forgets the stream.
 */
export class StreamConnection {
  private session?: LiveEditSession;
  private chain: Promise<void> = Promise.resolve();
  /** The client's frame index of recent session frames (the last {@link INDEX_HISTORY}). */
  private readonly clientIndex = new Map<number, number>();
  /** …and of the current reference, however old (`previous` of the next replacement). */
  private reference?: { readonly session: number; readonly client: number };
  private lastClientIndex = -1;
  private pushed = 0;
  private inputFormat?: FrameFormat;
  private closed = false;
  private idle?: NodeJS.Timeout;
  private readonly log = logger('streamer');

  constructor(
    private readonly ws: WebSocket,
    private readonly entry: StreamEntry,
    private readonly registry: StreamRegistry,
    private readonly workDirs: JobWorkDirs,
  ) {}

  start(): void {
    this.ws.pause(); // frames wait in the socket until the session takes them
    this.resetIdle();
    this.ws.on('message', (data, isBinary) => {
      this.resetIdle();
      this.chain = this.chain
        .then(() => this.onMessage(data, isBinary))
        .catch((err: unknown) => this.fail('internal', err));
    });
    this.ws.on('close', () => void this.cleanup('client disconnected'));
    this.ws.on('error', (err) => this.log.warn({ err: err.message, id: this.entry.id }, 'stream socket error'));
    this.chain = this.open().catch((err: unknown) =>
      this.fail(err instanceof InputError ? 'bad-input' : 'internal', err),
    );
  }

  private async open(): Promise<void> {
    const { spec } = this.entry;
    const common = { policy: spec.policy, arr: spec.arr };
    const s = spec.source;
    const session =
      s.kind === 'job'
        ? await this.openJob(s.jobId, common)
        : await LiveEditSession.warmUp({
            ...common,
            frames: s.frames,
            preset: s.preset,
            maxIterations: s.iterations,
            edit: s.edit,
          });
    if (!session) return;
    this.entry.session = session;
    if (this.closed) return void (await session.close()); // the client left while the session started
    this.session = session;
    session.on((e) => this.onEvent(e));
    this.sendJson({
      type: 'hello',
      id: this.entry.id,
      policy: spec.policy,
      // Frames go in and come back at `size` (the source size); the correspondence runs at `working`.
      ...(s.kind === 'warmup' ? { warmupFrames: s.frames } : { size: session.frameSize, working: session.workingSize }),
    });
    void this.forward(session);
    this.ws.resume();
  }

  /** A finished job's session: its work dir laid out here from storage (undefined if the client left meanwhile). */
  private async openJob(
    jobId: string,
    common: { policy: StreamEntry['spec']['policy']; arr: StreamEntry['spec']['arr'] },
  ): Promise<LiveEditSession | undefined> {
    const workDir = await this.workDirs(jobId);
    // The client may have left during the download: the registry no longer knows this stream, so clean up here.
    if (this.closed) return void (await rm(workDir, { recursive: true, force: true }));
    this.entry.workDir = workDir;
    return LiveEditSession.fromWorkDir(workDir, { ...common, disposeWorkDir: true });
  }

  /** Session events to the client, in the client's frame numbers (errors go out from `forward`). */
  private onEvent(e: LiveEvent): void {
    if (e.type === 'error') return;
    if (e.type === 'dropped') return this.sendJson({ ...e, frame: this.toClient(e.frame) });
    if (e.type === 'reference-replaced') {
      const previous = e.previous === null ? null : this.toClient(e.previous);
      this.reference = { session: e.frame, client: this.toClient(e.frame) };
      return this.sendJson({ ...e, frame: this.reference.client, previous });
    }
    this.sendJson(e);
  }

  /** Sends the edited frames back in order, then `end`; a failure of the session is the client's `error`. */
  private async forward(session: LiveEditSession): Promise<void> {
    try {
      let sent = 0;
      for await (const f of session.frames()) {
        const index = this.toClient(f.index);
        await this.sendBinary(frameToMessage(f.image, index, this.outputFormat()));
        if (++sent % STATS_EVERY === 0) this.sendJson({ type: 'latency', frame: index, ...statsOf(session) });
      }
      if (this.closed) return;
      this.sendJson({ type: 'end', ...statsOf(session) });
      this.ws.close(1000, 'stream ended');
    } catch (err) {
      this.fail(err instanceof InputError ? 'bad-input' : 'internal', err);
    }
  }

  private async onMessage(data: RawData, isBinary: boolean): Promise<void> {
    const session = this.session;
    if (this.closed || !session) return;
    if (!isBinary) return this.onControl(session, String(data));
    let frame: RgbFrame;
    let index: number;
    try {
      const m = decodeFrameMessage(asBuffer(data));
      frame = frameFromMessage(m);
      index = m.index;
      if (index <= this.lastClientIndex)
        return this.fail(
          'malformed-frame',
          `Frame index ${index} does not follow ${this.lastClientIndex}: number frames in increasing order.`,
        );
      this.inputFormat ??= m.format;
    } catch (err) {
      return this.fail('malformed-frame', err);
    }
    const wrongSize = session.sizeProblem(frame.width, frame.height, `Frame ${index}`);
    if (wrongSize) return this.fail('wrong-size', wrongSize);
    this.lastClientIndex = index;
    this.clientIndex.set(this.pushed++, index);
    if (this.clientIndex.size > INDEX_HISTORY) this.clientIndex.delete(this.clientIndex.keys().next().value!);
    const pending = session.push(frame);
    if (this.entry.spec.policy === 'block') {
      this.ws.pause(); // backpressure: the client's frames wait in TCP until the queue has room
      await pending.finally(() => this.ws.resume());
    } else {
      await pending;
    }
  }

  private onControl(session: LiveEditSession, text: string): void {
    let message: { type?: unknown };
    try {
      message = JSON.parse(text) as { type?: unknown };
    } catch {
      return this.sendJson({
        type: 'error',
        code: 'bad-message',
        message: 'A text message is not JSON: send {"type":"end"} or {"type":"stats"}.',
      });
    }
    if (message.type === 'end') return session.end();
    if (message.type === 'stats') return this.sendJson({ type: 'latency', ...statsOf(session) });
    this.sendJson({
      type: 'error',
      code: 'bad-message',
      message: `Unknown message type ${JSON.stringify(message.type)}: send {"type":"end"} or {"type":"stats"}.`,
    });
  }

  private toClient(sessionIndex: number): number {
    if (this.reference?.session === sessionIndex) return this.reference.client;
    return this.clientIndex.get(sessionIndex) ?? sessionIndex;
  }

  private outputFormat(): FrameFormat {
    const wanted = this.entry.spec.output;
    return wanted === 'same' ? (this.inputFormat ?? 'rgb') : wanted;
  }

  /** Tells the client why (one JSON `error`), closes the socket and the session. */
  private fail(code: StreamErrorCode, err: unknown): void {
    if (this.closed) return;
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'internal') this.log.error({ err, id: this.entry.id }, 'stream failed');
    this.sendJson({ type: 'error', code, message: code === 'internal' ? `The stream failed: ${message}` : message });
    this.ws.close(code === 'internal' ? 1011 : 1008, code);
    void this.cleanup(code);
  }

  private resetIdle(): void {
    clearTimeout(this.idle);
    if (this.closed) return;
    this.idle = setTimeout(() => {
      // A client waiting for its warm-up fit (all warm-up frames sent) is not idle.
      const source = this.entry.spec.source;
      const stats = this.session?.stats();
      if (source.kind === 'warmup' && stats?.state === 'warming-up' && stats.received >= source.frames)
        return this.resetIdle();
      this.fail('idle', `No message for ${IDLE_TIMEOUT_MS / 1000} s: the stream is closed.`);
    }, IDLE_TIMEOUT_MS);
    this.idle.unref();
  }

  private async cleanup(why: string): Promise<void> {
    this.closed = true;
    clearTimeout(this.idle);
    await this.registry.remove(this.entry.id, why);
  }

  private sendJson(value: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(value));
  }

  /** Resolves once the frame is written to the socket: a slow client slows the session (then its input drops). */
  private sendBinary(data: Buffer): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.ws.send(data, { binary: true }, (err) => (err ? reject(err) : resolve())),
    );
  }
}

function statsOf(session: LiveEditSession) {
  const s = session.stats();
  return {
    received: s.received,
    edited: s.edited,
    dropped: s.dropped,
    references: s.references,
    queued: s.queued,
    latency: s.latency,
    processing: s.processing,
  };
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
