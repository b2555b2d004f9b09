import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { type Browser, type Page, type Route, chromium } from 'playwright-core';
import { type WebSocket, WebSocketServer } from 'ws';
import { InputError, StreamEditError, ToolError } from '../errors';
import type { RgbFrame } from '../image/frame';
import { logger } from '../log';
import { REPO_ROOT } from '../settings';

const log = logger('landmarks');

/**
 * The fake origin of the page; every request to it is answered from local files, all others are aborted. A
 * `*.localhost` name makes it a secure context, where Chromium's Local Network Access lets the page open the
 * loopback frame socket once the context is granted `local-network-access` (from a plain fake host it refuses).
 */
const ORIGIN = 'http://streamedit.localhost';

/**
 * Chromium flags: no sandbox (containers, root), WebGL2 on SwiftShader (MediaPipe uploads images as textures even
 * with the CPU delegate), and nothing that phones home. (No `--disable-features`: Chromium keeps only the last one,
 * which would drop Playwright's own list.)
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The browser page and its script, read from the source tree (also when running from dist/). */
const PAGE_DIR = join(REPO_ROOT, 'libs/pipeline/src/landmarks/browser');
/** `@mediapipe/tasks-vision`'s bundle and wasm files. */
const TASKS_VISION_DIR = dirname(require.resolve('@mediapipe/tasks-vision'));

/** How long loading the page and both models may take. */
const START_TIMEOUT_MS = 120_000;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html',
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
};

/** The browser (or its page, or the socket) went away; the detector starts a new session and retries once. */
export class SessionLostError extends StreamEditError {}

export interface BrowserSessionOptions {
  readonly chromiumPath: string;
  readonly faceModelPath: string;
  readonly segmenterModelPath: string;
  readonly minFaceDetectionConfidence: number;
  readonly minFacePresenceConfidence: number;
  /** How long one frame may take before the session is declared hung. */
  readonly timeoutMs: number;
}

/** What the page answers for one frame: normalised landmarks as in the page's JSON, plus the mask bytes. */
export interface PageReply {
  readonly face: boolean;
  readonly landmarks?: number[];
  readonly blendshapes?: Record<string, number>;
  readonly error?: string;
  /** Time spent in the page (RGB → RGBA, face landmarker, segmenter), for diagnostics. */
  readonly ms?: Readonly<Record<string, number>>;
  readonly mask: Uint8Array;
}

interface Pending {
  resolve(reply: PageReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One headless Chromium with one page running MediaPipe's FaceLandmarker and ImageSegmenter, and the loopback
 * WebSocket that carries raw frames to it. Requests are answered in order; several may be in flight, which lets the
 * next frame travel while the page computes the current one.
 */
export class BrowserSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lost?: Error;
  private closing = false;

  private constructor(
    private readonly browser: Browser,
    private readonly server: WebSocketServer,
    private readonly socket: WebSocket,
    private readonly timeoutMs: number,
  ) {
    socket.on('message', (data: Buffer) => this.receive(data));
    socket.on('close', () => this.fail(new SessionLostError('the landmark page closed its frame socket')));
    browser.on('disconnected', () => this.fail(new SessionLostError('Chromium exited')));
  }

  /** Launches Chromium, loads the page and both models, and connects the frame socket. */
  static async start(options: BrowserSessionOptions): Promise<BrowserSession> {
    if (!existsSync(options.chromiumPath)) {
      throw new InputError(
        `Chromium was not found at ${options.chromiumPath}: install chromium-headless-shell or set STREAMEDIT_CHROMIUM to a Chromium binary.`,
      );
    }
    const token = randomUUID();
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: `/${token}`,
      maxPayload: 256 * 1024 * 1024,
    });
    let browser: Browser | undefined;
    try {
      await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
      const connected = firstConnection(server);
      browser = await launch(options.chromiumPath);
      const { port } = server.address() as { port: number };
      const page = await openPage(browser, options);
      // Model loading has no timeout of its own: a page that hangs is closed, which rejects the evaluate below.
      const hung = setTimeout(() => void browser?.close(), START_TIMEOUT_MS);
      await page
        .evaluate(
          (o) => (window as unknown as { streamEdit: { start(o: unknown): Promise<boolean> } }).streamEdit.start(o),
          {
            faceModelUrl: '/models/face',
            segmenterModelUrl: '/models/segmenter',
            socketUrl: `ws://127.0.0.1:${port}/${token}`,
            minFaceDetectionConfidence: options.minFaceDetectionConfidence,
            minFacePresenceConfidence: options.minFacePresenceConfidence,
          },
        )
        .finally(() => clearTimeout(hung));
      return new BrowserSession(browser, server, await connected, options.timeoutMs);
    } catch (err) {
      await browser?.close().catch(() => undefined);
      server.close();
      if (err instanceof StreamEditError) throw err;
      throw new ToolError(
        `Chromium could not start the landmark page: ${(err as Error).message.split('\n')[0]}`,
        String((err as Error).stack ?? err),
        { cause: err },
      );
    }
  }

  /** Sends one frame and waits for its reply. A dead or hung session rejects with `SessionLostError`. */
  request(frame: RgbFrame): Promise<PageReply> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++;
    const header = new Uint32Array([id, frame.width, frame.height]);
    const message = Buffer.concat([Buffer.from(header.buffer), frame.data]);
    return new Promise<PageReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new SessionLostError(`the landmark page did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(
        message,
        (err) => err && this.fail(new SessionLostError(`sending a frame failed: ${err.message}`)),
      );
    });
  }

  get alive(): boolean {
    return this.lost === undefined;
  }

  /** Closes the browser and the socket server; pending requests reject. */
  async close(): Promise<void> {
    this.closing = true;
    this.fail(new SessionLostError('the landmark detector was closed'));
    await this.browser.close().catch(() => undefined);
  }

  private receive(data: Buffer): void {
    const id = data.readUInt32LE(0);
    const jsonLength = data.readUInt32LE(4);
    const reply = JSON.parse(data.toString('utf8', 8, 8 + jsonLength)) as Omit<PageReply, 'mask'>;
    // Copy the mask out of the socket's buffer so callers own plain, exactly sized bytes.
    const mask = new Uint8Array(data.subarray(8 + jsonLength));
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({ ...reply, mask });
  }

  /** Marks the session dead once, rejects everything in flight, and makes sure Chromium is gone. */
  private fail(err: Error): void {
    if (this.lost) return;
    this.lost = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.socket.terminate();
    this.server.close();
    if (!this.closing) log.warn({ err: err.message }, 'landmark browser session lost');
    void this.browser.close().catch(() => undefined);
  }
}

async function launch(executablePath: string): Promise<Browser> {
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath,
    args: [...CHROMIUM_ARGS],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  log.debug({ ms: Date.now() - started, version: browser.version() }, 'Chromium started');
  return browser;
}

/** A page on the fake origin whose every request is answered from local files; anything else is aborted. */
async function openPage(browser: Browser, options: BrowserSessionOptions): Promise<Page> {
  const context = await browser.newContext({ permissions: ['local-network-access'] });
  const files: Readonly<Record<string, string>> = {
    '/': join(PAGE_DIR, 'index.html'),
    '/detector.mjs': join(PAGE_DIR, 'detector.mjs'),
    '/models/face': options.faceModelPath,
    '/models/segmenter': options.segmenterModelPath,
  };
  await context.route('**/*', (route) => serve(route, files));
  const page = await context.newPage();
  page.on('console', (m) => log.trace({ page: m.text() }, 'landmark page console'));
  page.on('pageerror', (e) => log.warn({ err: e.message }, 'landmark page error'));
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => 'streamEdit' in window);
  return page;
}

function serve(route: Route, files: Readonly<Record<string, string>>): Promise<void> {
  const url = new URL(route.request().url());
  if (url.origin !== ORIGIN) {
    log.warn({ url: url.href }, 'landmark page tried to reach the network: aborted');
    return route.abort('blockedbyclient');
  }
  const path = files[url.pathname] ?? tasksVisionFile(url.pathname);
  if (!path || !existsSync(path)) return route.fulfill({ status: 404, body: 'not found' });
  return route.fulfill({
    body: readFileSync(path),
    contentType: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
  });
}

/** `/tasks-vision/<file>` → a file inside the installed package, never outside it. */
function tasksVisionFile(pathname: string): string | undefined {
  if (!pathname.startsWith('/tasks-vision/')) return undefined;
  const path = normalize(join(TASKS_VISION_DIR, pathname.slice('/tasks-vision/'.length)));
  return path.startsWith(TASKS_VISION_DIR + sep) ? path : undefined;
}

/** The page's socket: the first client on the token path (the path is secret); any later client is refused. */
function firstConnection(server: WebSocketServer): Promise<WebSocket> {
  return new Promise((resolve) => {
    let taken = false;
    server.on('connection', (socket) => {
      if (taken) return socket.terminate();
      taken = true;
      resolve(socket);
    });
  });
}
