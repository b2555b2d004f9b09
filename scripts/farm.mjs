#!/usr/bin/env node
// `npm run farm`: the whole farm on this machine, for development and demos.
//   - Redis: uses REDIS_URL when something answers there; otherwise starts redis-server on that (local) port with
//     production-like settings (noeviction, no persistence) in a temp dir.
//   - Storage: FARM_STORAGE=local uses a folder (FARM_LOCAL_DIR); otherwise S3_ENDPOINT when set, else an s3rver
//     (S3-compatible dev server, development only) with bucket S3_BUCKET, behind a SigV4 signature check of ours
//     (libs/farm/src/dev/s3-signing-gate.ts; s3rver checks none) on S3RVER_PORT (default: a free port).
//   - Then the API, the streamer (live sessions of /v1/streams, on FARM_STREAMER_PORT, default 3001), one trainer
//     and one renderer (node dist/…: run `npm run build` first), with their output prefixed. The API and the
//     streamer share FARM_STREAM_SECRET (a random one per run when unset). Prints the URLs once the API and the
//     streamer answer. Ctrl-C (or SIGTERM) stops everything it started, in reverse.
// Settings are the farm's (libs/farm/src/config.ts); this script only fills in where the services it starts live.
/* global process, URL, fetch, setTimeout, clearTimeout */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const root = new URL('..', import.meta.url).pathname;
const env = { ...process.env };
const started = []; // { name, stop: () => Promise<void> } in start order; stopped in reverse
const say = (line) => process.stdout.write(`farm: ${line}\n`);

const MAINS = {
  api: 'dist/apps/api/src/main.js',
  streamer: 'dist/apps/streamer/src/main.js',
  trainer: 'dist/apps/trainer/src/main.js',
  renderer: 'dist/apps/renderer/src/main.js',
};

function ping(port, host) {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function isLocalHost(host) {
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
}

/** Starts a child whose lines are shown with a prefix; `critical` children stop the farm when they exit. */
function startChild(name, command, args, options = {}) {
  // Own process group: a terminal's Ctrl-C reaches only this script, which then stops the children in order
  // (workers before Redis), instead of every process getting SIGINT at once.
  const child = spawn(command, args, {
    cwd: root,
    env: options.env ?? env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(({ code, signal }) => {
    if (!stopping && options.critical) {
      say(`${name} exited (${signal ?? `code ${code}`}); stopping the farm.`);
      void shutdown(1);
    }
  });
  started.push({
    name,
    pid: child.pid,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const grace = Number(env.FARM_SHUTDOWN_GRACE_S ?? 25) * 1000 + 5000;
      const timer = setTimeout(() => child.kill('SIGKILL'), grace);
      await exited;
      clearTimeout(timer);
    },
  });
  return child;
}

async function ensureRedis() {
  env.REDIS_URL ??= 'redis://127.0.0.1:6379';
  const url = new URL(env.REDIS_URL);
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 6379);
  if (await ping(port, host)) return `${env.REDIS_URL.replace(/:[^:@/]*@/, ':***@')} (already running)`;
  if (!isLocalHost(host))
    throw new Error(
      `Nothing answers at REDIS_URL (${host}:${port}) and it is not local, so it cannot be started here.`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'streamedit-farm-redis-'));
  // The same arguments as the tests' Redis (built: main() checked dist/ exists before this runs).
  const { redisServerArgs } = (await import(join(root, 'dist/libs/farm/src/dev/services.js'))).default;
  const args = redisServerArgs(port, dir);
  startChild('redis', 'redis-server', args, { critical: true });
  started[started.length - 1].cleanup = () => rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < 100 && !(await ping(port, host)); i++) await sleep(100);
  if (!(await ping(port, host))) throw new Error(`redis-server did not answer on port ${port}.`);
  return `redis://${host}:${port} (started here)`;
}

async function ensureStorage() {
  if (env.FARM_STORAGE === 'local') return `local folder ${env.FARM_LOCAL_DIR ?? join(root, '.cache', 'farm')}`;
  if (env.S3_ENDPOINT) return `S3 ${env.S3_ENDPOINT} bucket ${env.S3_BUCKET ?? 'streamedit'}`;
  let S3rver;
  try {
    S3rver = (await import('s3rver')).default;
  } catch {
    throw new Error('No S3_ENDPOINT and no s3rver (a dev dependency) here: set S3_ENDPOINT, or FARM_STORAGE=local.');
  }
  env.S3_BUCKET ??= 'streamedit';
  const dir = mkdtempSync(join(tmpdir(), 'streamedit-farm-s3-'));
  const port = Number(env.S3RVER_PORT ?? (await freePort()));
  // s3rver checks no signature (anyone on this machine could read and overwrite every object): the farm talks to
  // it through a signature check of its own on S3RVER_PORT, as it would talk to S3 or MinIO. Development only.
  const server = new S3rver({
    address: '127.0.0.1',
    port: await freePort(),
    silent: true,
    directory: dir,
    configureBuckets: [{ name: env.S3_BUCKET }],
  });
  const { port: uncheckedPort } = await server.run();
  const { startS3SigningGate } = (await import(join(root, 'dist/libs/farm/src/dev/s3-signing-gate.js'))).default;
  const gate = await startS3SigningGate({
    upstream: `http://127.0.0.1:${uncheckedPort}`,
    credentials: { S3RVER: 'S3RVER' },
    port,
  });
  started.push({
    name: 's3rver',
    stop: async () => {
      await gate.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  Object.assign(env, {
    S3_ENDPOINT: gate.endpoint,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    FARM_STORAGE: 's3',
  });
  return `s3rver behind a signature check ${env.S3_ENDPOINT} bucket ${env.S3_BUCKET} (started here; development only)`;
}

/** Waits until `url`/v1/health answers 200 (the API's and the streamer's health check). */
async function waitForHealth(url) {
  for (let i = 0; i < 600; i++) {
    if (stopping) return false;
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return true;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return false;
}

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  for (const s of [...started].reverse()) {
    try {
      await s.stop();
      s.cleanup?.();
    } catch (err) {
      say(`could not stop ${s.name}: ${err.message}`);
    }
  }
  say('stopped.');
  process.exit(code);
}

async function main() {
  const missing = Object.values(MAINS).filter((m) => !existsSync(join(root, m)));
  if (missing.length > 0)
    throw new Error(`The farm is not built (${missing[0]} is missing): run \`npm run build\` first.`);
  // Last resort if this script dies without `shutdown`: children run in their own groups, so kill them here.
  process.on('exit', () => {
    for (const s of started) if (s.pid && s.running?.()) process.kill(s.pid, 'SIGKILL');
  });
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  env.STREAMEDIT_LOG_LEVEL ??= 'warn';
  // The project targets Node 20; the SDK's notice about its future Node 22 requirement is noise here.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  env.PORT ??= '3000';
  env.FARM_STREAMER_PORT ??= '3001';
  const host = !env.HOST || env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST;
  env.FARM_STREAMER_URL ??= `ws://${host}:${env.FARM_STREAMER_PORT}`;
  // The API signs stream tokens with it and the streamer checks them: both are started here, so any random key
  // that lives as long as this run will do.
  env.FARM_STREAM_SECRET ??= randomBytes(24).toString('base64url');
  const redis = await ensureRedis();
  const storage = await ensureStorage();
  startChild('api', process.execPath, [MAINS.api], { critical: true });
  const api = `http://${host}:${env.PORT}`;
  if (!(await waitForHealth(api))) throw new Error(`The API did not answer on ${api}.`);
  // The streamer hosts live sessions (Chromium, ONNX, a warm-up's trainer) so that the API process never does.
  const streamer = `http://${host}:${env.FARM_STREAMER_PORT}`;
  startChild('streamer', process.execPath, [MAINS.streamer], { critical: true });
  if (!(await waitForHealth(streamer))) throw new Error(`The streamer did not answer on ${streamer}.`);
  startChild('trainer', process.execPath, [MAINS.trainer], { critical: true });
  startChild('renderer', process.execPath, [MAINS.renderer], { critical: true });
  say('the farm is up');
  say(`  API      ${api}`);
  say(`  Docs     ${api}/docs`);
  say(`  Streamer ${env.FARM_STREAMER_URL} (live sessions: POST ${api}/v1/streams hands out its sockets)`);
  say(`  Redis    ${redis}`);
  say(`  Storage  ${storage}`);
  say('  Workers  one trainer (analyze, train), one renderer (render, mux)');
  say('Ctrl-C stops everything started here.');
}

main().catch((err) => {
  say(`error: ${err.message}`);
  void shutdown(1);
});
