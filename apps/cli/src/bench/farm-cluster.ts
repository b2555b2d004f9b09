/**
 * The whole farm on this machine for `bench farm`: redis-server and s3rver (the farm's dev services), the API,
 * trainer and renderer worker processes (dist/apps/…, as `npm run farm` runs them). Every artifact-store
 * call of all of them is timed into one JSON-lines file (`FARM_STORE_TIMINGS`). `stop()` ends everything it started.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  farmEnv,
  freePort,
  startRedis,
  startS3,
  startWorkerProcess,
  type DevRedis,
  type DevS3,
  type StoreOperation,
  type WorkerProcess,
} from '@streamedit/farm';

/** A worker process of the bench. */
export interface BenchWorker {
  readonly id: string;
  /** The last lines it logged (for failure messages). */
  tail(lines?: number): string;
  stop(): Promise<void>;
}

/** A running farm; see the module comment. */
export interface BenchFarm {
  readonly apiUrl: string;
  /** A Redis client of the farm's Redis (job records, job logs). */
  readonly redis: Redis;
  startWorker(role: 'trainer' | 'renderer', id: string): BenchWorker;
  /** Every store call recorded so far, with the process that made it (`source`: the worker id). */
  storeOperations(): Promise<Array<StoreOperation & { source: string }>>;
  stop(): Promise<void>;
}

/** Starts the services and the API; workers are started by the caller. `tmp` holds work dirs and the timings. */
export async function startBenchFarm(tmp: string): Promise<BenchFarm> {
  const timings = join(tmp, 'store-operations.jsonl');
  let redis: DevRedis | undefined;
  let s3: DevS3 | undefined;
  const workers: BenchWorker[] = [];
  let api: WorkerProcess | undefined;
  let client: Redis | undefined;
  const stop = async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await api?.stop();
    client?.disconnect();
    await Promise.all([s3?.stop(), redis?.stop()]);
  };
  // The SDK's Node-version notice is noise in a bench's output (the workers get the same variable below).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    [redis, s3] = await Promise.all([startRedis(), startS3('streamedit-bench')]);
    const env: NodeJS.ProcessEnv = {
      ...farmEnv(redis, s3),
      FARM_STORE_TIMINGS: timings,
      FARM_SHUTDOWN_GRACE_S: '1',
      TMPDIR: tmp,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    // Loopback only, nothing public: a local bench, no API keys (FARM_AUTH=off says so explicitly). The API is its
    // own process, as deployed (apps do not import each other).
    const port = await freePort();
    api = startWorkerProcess('api', {
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      FARM_AUTH: 'off',
      FARM_WORKER_ID: 'api',
    });
    const apiUrl = `http://127.0.0.1:${port}`;
    await waitForApi(apiUrl, api);
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const redisClient = client;
    return {
      apiUrl,
      redis: redisClient,
      startWorker: (role, id) => {
        const w = startWorker(role, { ...env, FARM_WORKER_ID: id });
        workers.push(w);
        return w;
      },
      storeOperations: () => readOperations(timings),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resolves once the API process answers `/v1/health`; throws with its log tail if it exits or stays silent 60 s. */
async function waitForApi(url: string, api: WorkerProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (api.child.exitCode !== null) break;
    const ok = await fetch(`${url}/v1/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`The API process did not answer on ${url}:\n${api.output().split('\n').slice(-15).join('\n')}`);
}

async function readOperations(path: string): Promise<Array<StoreOperation & { source: string }>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StoreOperation & { source: string });
}

/** A worker app process (its own group: stopping it ends its children too), seen by the bench by id and log tail. */
function startWorker(role: 'trainer' | 'renderer', env: NodeJS.ProcessEnv): BenchWorker {
  const worker = startWorkerProcess(role, env);
  return {
    id: String(env.FARM_WORKER_ID),
    tail: (lines = 15) => worker.output().split('\n').slice(-lines).join('\n'),
    stop: () => worker.stop(),
  };
}

/** Removes the bench's temp folder (work dirs of the workers, the timings file). */
export async function removeBenchDir(tmp: string): Promise<void> {
  await rm(tmp, { recursive: true, force: true });
}
