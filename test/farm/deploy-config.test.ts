/**
 * docker/ and infra/ checked against the code: services and images, every environment variable a setting that
 * exists (farm or pipeline), GPU images installing onnxruntime-node's CUDA provider, Redis with noeviction, and
 * KEDA triggers on the Redis keys BullMQ really uses (checked against a real redis-server with real flows).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadSettings, REPO_ROOT, settingVariable, type Settings } from '@streamedit/pipeline';
import {
  BENCHMARK_QUEUE,
  bullJobId,
  FARM_ENV,
  FARM_JOBS,
  FlowScheduler,
  JOB_KEYS,
  loadFarmConfig,
  QUEUE_NAMES,
  QUEUE_PREFIX,
  trainQueue,
  type JobRecord,
  type QueueName,
} from '@streamedit/farm';
import { parse, parseAllDocuments } from 'yaml';
import { startRedis, type TestRedis } from '../support/services';

const docker = (f: string) => join(REPO_ROOT, 'docker', f);
const infra = (f: string) => join(REPO_ROOT, 'infra', f);

/** Every variable a container may set: the farm's settings, the pipeline's, and the log level. */
const KNOWN_ENV = new Set([
  ...Object.values(FARM_ENV),
  ...(Object.keys(loadSettings({})) as Array<keyof Settings>).map(settingVariable),
  'STREAMEDIT_LOG_LEVEL',
]);
/** Variables that belong to third-party images (MinIO). */
const THIRD_PARTY_ENV = new Set(['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD']);

const compose = parse(readFileSync(docker('compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      image?: string;
      command?: string[];
      build?: { context: string; dockerfile: string };
      environment?: Record<string, string>;
      deploy?: unknown;
    }
  >;
};

type K8sDoc = {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};
const k8s: K8sDoc[] = readdirSync(join(REPO_ROOT, 'infra'))
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) => parseAllDocuments(readFileSync(infra(f), 'utf8')).map((d) => d.toJS() as K8sDoc));
const find = (kind: string, name: string) => {
  const doc = k8s.find((d) => d.kind === kind && d.metadata.name === name);
  assert.ok(doc, `${kind}/${name} exists in infra/`);
  return doc;
};

/** The queues each worker app serves, from its main.ts (so infra and code cannot drift apart silently). */
function servedQueues(app: 'trainer' | 'renderer', device: 'cpu' | 'gpu'): string[] {
  const main = readFileSync(join(REPO_ROOT, 'apps', app, 'src', 'main.ts'), 'utf8');
  const queues: string[] = QUEUE_NAMES.filter((q) => main.includes(`'${q}'`));
  if (main.includes('trainQueue(')) queues.push(trainQueue(device));
  if (main.includes('benchmarks: true')) queues.push(BENCHMARK_QUEUE);
  return queues;
}

test('compose: redis (noeviction), MinIO, and api/streamer/trainer/renderer built from docker/ with known settings only', () => {
  const { services } = compose;
  assert.deepEqual(Object.keys(services).sort(), ['api', 'minio', 'redis', 'renderer', 'streamer', 'trainer']);
  assert.match(services.redis!.image!, /^redis:7/);
  const command = services.redis!.command!;
  assert.equal(command[command.indexOf('--maxmemory-policy') + 1], 'noeviction');
  assert.match(services.minio!.image!, /^minio\/minio/);
  for (const app of ['api', 'streamer', 'trainer', 'renderer']) {
    const s = services[app]!;
    assert.equal(s.build?.dockerfile, `docker/${app}.Dockerfile`);
    assert.ok(existsSync(join(REPO_ROOT, s.build!.dockerfile)));
    const env = s.environment ?? {};
    for (const name of Object.keys(env)) assert.ok(KNOWN_ENV.has(name), `${app}: ${name} is a setting`);
    assert.equal(env.REDIS_URL, 'redis://redis:6379');
    assert.equal(new URL(env.S3_ENDPOINT!).hostname, 'minio');
    // The settings must load as the container would read them (credentials come from the MINIO_* defaults).
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[^:}]+:-([^}]*)\}/, '$1')]),
    );
    const config = loadFarmConfig(resolved);
    assert.equal(config.trainDevice, 'gpu', `${app} routes and serves train-gpu`);
  }
  // Live streams: the API hands out sockets of the streamer (its published port), signed with the key both share.
  const api = loadFarmConfig(services.api!.environment as Record<string, string>);
  const streamer = services.streamer!.environment!;
  assert.equal(new URL(api.streamerUrl!).port, streamer.FARM_STREAMER_PORT);
  assert.ok((services.streamer as { ports?: string[] }).ports?.includes(`${streamer.FARM_STREAMER_PORT}:3001`));
  assert.equal(services.api!.environment!.FARM_STREAM_SECRET, streamer.FARM_STREAM_SECRET);
  assert.equal(services.streamer!.deploy, undefined, 'the streamer runs on the CPU');
  for (const name of Object.keys(services.minio!.environment ?? {})) assert.ok(THIRD_PARTY_ENV.has(name));
  for (const gpu of ['trainer', 'renderer'])
    assert.match(JSON.stringify(services[gpu]!.deploy), /"capabilities":\["gpu"\]/);
});

test('Dockerfiles: CUDA bases for the workers, onnxruntime-node CUDA provider installed there (never skipped)', () => {
  const file = (app: string) => readFileSync(docker(`${app}.Dockerfile`), 'utf8');
  const froms = (app: string) => [...file(app).matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  const finalBase = (app: string) => froms(app)[froms(app).length - 1]!;
  assert.match(finalBase('trainer'), /^pytorch\/pytorch:.*cuda12.*cudnn9/);
  assert.match(finalBase('renderer'), /^nvidia\/cuda:12.*cudnn/);
  assert.match(finalBase('api'), /^node:20/);
  assert.match(finalBase('streamer'), /^node:20/);
  // The streamer hosts sessions on the CPU: Chromium and PyTorch as scripts/setup.sh installs them.
  assert.match(file('streamer'), /apt-get install[^\n]*chromium-headless-shell[^\n]*python3-torch/);
  assert.match(file('streamer'), /^COPY python python$/m, 'a warm-up runs the Python trainer');
  for (const app of ['trainer', 'renderer']) {
    assert.match(file(app), /ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/, app);
    assert.doesNotMatch(file(app), /ONNXRUNTIME_NODE_INSTALL=skip/, app);
  }
  for (const app of ['api', 'streamer']) assert.match(file(app), /ONNXRUNTIME_NODE_INSTALL=skip npm ci/, app);
  for (const app of ['api', 'streamer', 'trainer', 'renderer']) {
    const cmd = /^CMD \["node", "dist\/(apps\/[a-z]+\/src\/main)\.js"\]/m.exec(file(app));
    assert.equal(cmd?.[1], `apps/${app}/src/main`);
    assert.ok(existsSync(join(REPO_ROOT, `${cmd![1]}.ts`)), `${app}: the CMD runs a real entry point`);
    for (const [, name] of file(app).matchAll(/^\s*(?:ENV\s+)?([A-Z][A-Z0-9_]+)=/gm)) {
      if (name!.startsWith('STREAMEDIT_') || name!.startsWith('FARM_') || name!.startsWith('S3_'))
        assert.ok(KNOWN_ENV.has(name!), `${app}: ${name}`);
    }
  }
});

test('infra: Redis with noeviction, workers with GPUs and a grace period longer than the farm’s', () => {
  const redisConf = find('ConfigMap', 'redis-config').data!['redis.conf']!;
  assert.match(redisConf, /^maxmemory-policy noeviction$/m);
  const config = find('ConfigMap', 'farm-config').data!;
  for (const name of Object.keys(config)) assert.ok(KNOWN_ENV.has(name), `farm-config: ${name} is a setting`);
  const farm = loadFarmConfig(config);
  for (const name of ['api', 'streamer', 'trainer', 'renderer']) {
    const spec = (
      find('Deployment', name).spec as {
        template: {
          spec: {
            containers: Array<{
              image: string;
              env?: Array<{ name: string }>;
              envFrom: unknown[];
              resources?: { limits?: Record<string, unknown> };
            }>;
            terminationGracePeriodSeconds?: number;
          };
        };
      }
    ).template.spec;
    const container = spec.containers[0]!;
    assert.match(container.image, new RegExp(`^streamedit/${name}:`));
    for (const { name: env } of container.env ?? []) assert.ok(KNOWN_ENV.has(env), `${name}: ${env}`);
    assert.match(JSON.stringify(container.envFrom), /farm-config/);
    if (name === 'trainer' || name === 'renderer') {
      assert.equal(container.resources?.limits?.['nvidia.com/gpu'], 1);
      assert.ok(
        (spec.terminationGracePeriodSeconds ?? 30) > farm.shutdownGraceS,
        `${name}: grace period covers FARM_SHUTDOWN_GRACE_S`,
      );
    }
  }
  // The streamer: its Service on its port, the API's handed-out URL naming it, the stream key from a Secret.
  const service = find('Service', 'streamer').spec as { ports: Array<{ port: number; targetPort: number }> };
  assert.deepEqual(service.ports, [{ port: 3001, targetPort: 3001 }]);
  assert.equal(new URL(farm.streamerUrl!).hostname.split('.')[0], 'streamer');
  assert.equal(new URL(farm.streamerUrl!).port, '3001');
  for (const name of ['api', 'streamer'])
    assert.match(JSON.stringify(find('Deployment', name).spec), /"secretRef":\{"name":"farm-streams"/, name);
  const kustomization = readFileSync(infra('kustomization.yaml'), 'utf8');
  assert.match(kustomization, /^ {2}- streamer\.yaml$/m);
});

describe('KEDA triggers read the Redis keys BullMQ uses (real redis-server, real flows)', () => {
  let redis: TestRedis;
  let client: Redis;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  test('keda: each worker scales on the wait/active lists and the load of exactly the queues it serves', async () => {
    const config = find('ConfigMap', 'farm-config').data!;
    const device = loadFarmConfig(config).trainDevice;
    for (const app of ['trainer', 'renderer'] as const) {
      const scaled = find('ScaledObject', app).spec as {
        scaleTargetRef: { name: string };
        minReplicaCount: number;
        triggers: Array<{ type: string; metadata: Record<string, string> }>;
      };
      assert.equal(scaled.scaleTargetRef.name, app);
      find('Deployment', app);
      const served = servedQueues(app, device);
      const lists = scaled.triggers.filter((t) => t.type === 'redis');
      assert.ok(lists.length > 0);
      for (const t of lists) {
        const m = new RegExp(`^${QUEUE_PREFIX}:([a-z-]+):(wait|active)$`).exec(t.metadata.listName!);
        assert.ok(
          m && served.includes(m[1]!),
          `${app}: ${t.metadata.listName} is a list of a queue it serves (${served.join(', ')})`,
        );
        assert.equal(t.metadata.address, 'redis.streamedit.svc.cluster.local:6379');
      }
      assert.ok(
        lists.some(
          (t) =>
            t.metadata.listName === `${QUEUE_PREFIX}:${served.includes('render') ? 'render' : trainQueue(device)}:wait`,
        ),
      );
      const api = scaled.triggers.find((t) => t.type === 'metrics-api');
      assert.match(api!.metadata.url!, /\/v1\/queues$/);
      const [queue, field] = api!.metadata.valueLocation!.split('.');
      assert.ok(served.includes(queue as QueueName), `${app}: metrics-api reads ${queue}`);
      assert.equal(field, 'load');
    }

    // Put real flows on the queues and look at the keys the triggers name.
    const flows = new FlowScheduler(client, loadFarmConfig({ REDIS_URL: redis.url }));
    const record = (priority: JobRecord['priority']): JobRecord =>
      ({ id: randomUUID(), priority, device, edit: { kind: 'look', name: 'noir' } }) as unknown as JobRecord;
    const normal = record('normal');
    await flows.enqueue(normal);
    await flows.enqueue(record('high'));
    await flows.enqueue(record('low'));
    const analyze = FARM_JOBS.analyze.route({ device });
    assert.equal(await client.type(`${QUEUE_PREFIX}:${analyze}:wait`), 'list');
    assert.equal(
      await client.llen(`${QUEUE_PREFIX}:${analyze}:wait`),
      2,
      'normal and high wait in the list KEDA reads',
    );
    assert.equal(
      await client.type(`${QUEUE_PREFIX}:${analyze}:prioritized`),
      'zset',
      'low priority is not in that list',
    );
    // Job data carries ids only; options carry the retry, history and flow-failure policy.
    const queue = new Queue(analyze, { connection: client });
    const job = await queue.getJob(bullJobId.analyze(normal.id));
    await queue.close();
    assert.deepEqual(job?.data, { jobId: normal.id });
    assert.equal(job?.opts.attempts, 3);
    assert.deepEqual(job?.opts.backoff, { type: 'exponential', delay: 5000 });
    assert.deepEqual(job?.opts.removeOnComplete, { count: 1000 });
    assert.deepEqual(job?.opts.removeOnFail, { count: 5000 });
    assert.equal(job?.opts.failParentOnFailure, true);
    const depths = await flows.depths();
    assert.deepEqual(depths[analyze], { waiting: 2, prioritized: 1, active: 0, pending: 3, load: 3 });
    assert.equal(await client.exists(JOB_KEYS.all), 0, 'the scheduler writes no job records');
    await flows.close();
  });
});
