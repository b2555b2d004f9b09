import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocketServer, type WebSocket } from 'ws';
import { logger } from '@streamedit/pipeline';
import { StreamConnection } from './stream-connection';
import { StreamRegistry } from './stream-registry';

/** Path of the stream sockets: `ws://host/v1/streams/{id}`. */
export const STREAM_PATH = '/v1/streams';
/** Largest message accepted: a raw 1024² RGB frame and its header. */
export const MAX_MESSAGE_BYTES = 1024 * 1024 * 3 + 1024;

const STREAM_URL = /^\/v1\/streams\/([0-9a-f-]{36})\/?$/;

/**
 * The WebSocket side of the stream API, on the Nest HTTP server: upgrade requests for `/v1/streams/{id}` of a
 * registered, not yet connected stream become a {@link StreamConnection}; any other upgrade is refused (404, 409).
 */
@Injectable()
export class StreamSockets implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly log = logger('streams');
  private server?: Server;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly registry: StreamRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.server = this.adapter.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
  }

  async onApplicationShutdown(): Promise<void> {
    this.server?.off('upgrade', this.onUpgrade);
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const id = STREAM_URL.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1];
    if (!id) return refuse(socket, 404, 'Not a stream socket: connect to the url POST /v1/streams returned.');
    if (!this.registry.get(id))
      return refuse(socket, 404, `Stream ${id} does not exist (or expired): POST /v1/streams again.`);
    const entry = this.registry.claim(id);
    if (!entry) return refuse(socket, 409, `Stream ${id} already has a connection: one client per stream.`);
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.log.info({ id }, 'stream connected');
      new StreamConnection(ws, entry, this.registry).start();
    });
  }
}

/** Answers an upgrade with a plain HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ statusCode: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Conflict'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
