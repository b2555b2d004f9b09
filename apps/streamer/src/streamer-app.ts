import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { InputError, logger } from '@streamedit/pipeline';
import {
  createArtifactStore,
  materializeJobWorkDir,
  JobRepository,
  requireStreamableJob,
  StreamRecords,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { StreamRegistry } from './stream-registry';
import { StreamSockets } from './stream-socket';

/** A running streamer. `close()` ends every stream, stops the server and releases what it made. */
export interface RunningStreamer {
  /** Base URL of the bound server, e.g. `http://127.0.0.1:3001` (sockets: the same with `ws://`). */
  readonly url: string;
  readonly registry: StreamRegistry;
  close(): Promise<void>;
}

/**
 * Starts the streamer on `config.host:config.streamerPort` (0: any free port): the process that hosts live sessions
 * (Chromium landmarks, ONNX inference, a warm-up's Python trainer), so the API never runs them. It serves the stream
 * sockets that `POST /v1/streams` hands out and `GET /v1/health`. Needs `FARM_STREAM_SECRET` (the API signs the
 * socket tokens with it). Redis and the store are made from the settings unless given (tests pass their own).
 */
export async function startStreamer(
  config: FarmConfig,
  given: { redis?: Redis; store?: ArtifactStore } = {},
): Promise<RunningStreamer> {
  if (!config.streamSecret)
    throw new InputError(
      'FARM_STREAM_SECRET is not set: the streamer checks the socket tokens the API signs with it (set the same one on both).',
    );
  const log = logger('streamer');
  const redis = given.redis ?? new Redis(config.redisUrl, { commandTimeout: config.redisTimeoutMs });
  if (!given.redis) redis.on('error', (err: Error) => log.warn({ reason: err.message }, 'Redis connection error'));
  const store = given.store ?? (await createArtifactStore(config));
  const records = new StreamRecords(redis);
  const jobs = new JobRepository(redis);
  const registry = new StreamRegistry(records);
  const server = createServer((req, res) => answer(req, res, registry));
  const sockets = new StreamSockets(server, {
    records,
    registry,
    secret: config.streamSecret,
    holder: config.workerId,
    workDirs: async (jobId) => materializeJobWorkDir({ store, record: await requireStreamableJob(jobs, jobId) }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.streamerPort, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}`,
    registry,
    close: async () => {
      await sockets.close();
      await registry.removeAll('shutdown');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!given.redis) await redis.quit().catch(() => redis.disconnect());
      if (!given.store) await store.close();
    },
  };
}

/** Plain HTTP: the health check (probes, `npm run farm`); everything else is a 404 naming the socket path. */
function answer(req: IncomingMessage, res: ServerResponse, registry: StreamRegistry): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const ok = req.method === 'GET' && path === '/v1/health';
  const body = ok
    ? { status: 'ok', streams: registry.size }
    : { statusCode: 404, message: 'The streamer serves stream sockets (/v1/streams/{id}) and GET /v1/health only.' };
  res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
