import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { FRAME_HEADER_BYTES, logger, MAX_SOURCE } from '@streamedit/pipeline';
import { checkStreamToken, parseStreamRequest, type StreamRecords } from '@streamedit/farm';
import { StreamConnection, type JobWorkDirs } from './stream-connection';
import { StreamRegistry, TooManyStreamsError } from './stream-registry';

/** Path of the stream sockets: `ws://streamer/v1/streams/{id}?token=…`. */
export const STREAM_PATH = '/v1/streams';
/**
 * Largest message accepted: a raw RGB frame of the largest source an edit takes (`MAX_SOURCE`, 3840×2160: 24.9 MB)
 * and its header, since frames go in and come back at the source size. JPEG frames (format 1) are far smaller.
 */
export const MAX_MESSAGE_BYTES = MAX_SOURCE.width * MAX_SOURCE.height * 3 + FRAME_HEADER_BYTES;

const STREAM_URL = /^\/v1\/streams\/([0-9a-f-]{36})\/?$/;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  503: 'Service Unavailable',
};

/** What the sockets need: the stream records, the registry, the stream secret and how to lay out a job. */
export interface StreamSocketsOptions {
  readonly records: StreamRecords;
  readonly registry: StreamRegistry;
  readonly secret: string;
  /** Who claims streams in Redis (this streamer's worker id). */
  readonly holder: string;
  readonly workDirs: JobWorkDirs;
}

/**
 * The WebSocket side of live streams, on the streamer's HTTP server: an upgrade for `/v1/streams/{id}` with a valid
 * token (401 otherwise) claims the stream's Redis record (404 unknown or expired, 409 already connected) and becomes
 * a {@link StreamConnection}; a full streamer answers 503 before claiming anything.
 */
export class StreamSockets {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly log = logger('streamer');
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    void this.upgrade(req, socket, head).catch((err: unknown) => {
      this.log.error({ err }, 'stream upgrade failed');
      refuse(socket, 503, 'The streamer could not open the stream (its Redis is unreachable?): try again.');
    });

  constructor(
    private readonly server: Server,
    private readonly o: StreamSocketsOptions,
  ) {
    server.on('upgrade', this.onUpgrade);
  }

  /** Stops accepting sockets and cuts the open ones (their sessions are closed by the registry). */
  async close(): Promise<void> {
    this.server.off('upgrade', this.onUpgrade);
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = STREAM_URL.exec(url.pathname)?.[1];
    if (!id) return refuse(socket, 404, 'Not a stream socket: connect to the url POST /v1/streams returned.');
    const problem = checkStreamToken(this.o.secret, id, url.searchParams.get('token'));
    if (problem)
      return refuse(
        socket,
        401,
        `The stream token is ${problem}: connect to the url POST /v1/streams returned, in time.`,
      );
    try {
      this.o.registry.assertRoom();
    } catch (err) {
      if (err instanceof TooManyStreamsError) return refuse(socket, 503, err.message);
      throw err;
    }
    const claim = await this.o.records.claim(id, this.o.holder);
    if (claim.kind === 'unknown')
      return refuse(socket, 404, `Stream ${id} does not exist (or expired): POST /v1/streams again.`);
    if (claim.kind === 'taken')
      return refuse(socket, 409, `Stream ${id} already has a connection: one client per stream.`);
    const spec = parseStreamRequest(claim.record.request);
    let entry;
    try {
      entry = this.o.registry.add(id, spec);
    } catch (err) {
      await this.o.records.remove(id);
      if (err instanceof TooManyStreamsError) return refuse(socket, 503, err.message);
      throw err;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.log.info({ id, source: spec.source.kind }, 'stream connected');
      new StreamConnection(ws, entry, this.o.registry, this.o.workDirs).start();
    });
  }
}

/** Answers an upgrade with a plain HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ statusCode: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
