import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  PSNR_IDENTICAL,
  REPO_ROOT,
  compareVideos,
  createFrame,
  decodeFrames,
  gaussianKernel,
  lumaU8,
  psnr,
  reflect101,
  ssim,
  type RgbFrame,
} from '@streamedit/pipeline';
import { clipPath } from '../support/clips';
import { ffmpegTool, python } from '../support/tools';

const BASELINE = resolve(REPO_ROOT, '../shared/baselines/dis_baseline.py');
/** Frames of the cross-check: may_theresa's first 50, re-encoded by libx264 at CRF 30 (visible loss). */
const N = 50;
let dir: string;
let reencoded: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamedit-metrics-'));
  reencoded = join(dir, 'may_crf30.mp4');
  const x264 = '-an -c:v libx264 -preset veryfast -crf 30'.split(' ');
  await ffmpegTool(['-i', clipPath('may'), '-frames:v', String(N), ...x264, reencoded]);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(frames: AsyncIterable<RgbFrame>): Promise<RgbFrame[]> {
  const out: RgbFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

/** Runs an ffmpeg filter graph over [0:v] = may_theresa and [1:v] = its re-encode, output discarded. */
async function filterBoth(graph: string): Promise<void> {
  await ffmpegTool(['-i', clipPath('may'), '-i', reencoded, '-lavfi', graph, '-f', 'null', '-']);
}

/** The mean of one `key:value` field over the lines of an ffmpeg psnr/ssim stats file. */
function statsMean(text: string, key: string): { mean: number; perFrame: number[] } {
  const perFrame = text
    .trim()
    .split('\n')
    .map((line) => Number(new RegExp(`${key}:([\\d.]+)`).exec(line)![1]));
  return { mean: perFrame.reduce((s, v) => s + v, 0) / perFrame.length, perFrame };
}

function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  a.forEach((v, i) => {
    sab += (v - ma) * (b[i]! - mb);
    saa += (v - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  });
  return sab / Math.sqrt(saa * sbb);
}

test('psnr / ssim: identical frames give 99 dB and 1; a uniform ±1 error gives 48.13 dB', () => {
  const a = createFrame(
    64,
    48,
    Uint8Array.from({ length: 64 * 48 * 3 }, (_, i) => 1 + ((i * 37) % 251)),
  ); // 1…251: ±1 stays in range
  assert.equal(psnr(a, a), PSNR_IDENTICAL);
  assert.equal(PSNR_IDENTICAL, 99);
  assert.equal(ssim(a, a), 1);
  const b = createFrame(
    64,
    48,
    a.data.map((v, i) => (i % 2 ? v + 1 : v - 1)),
  );
  assert.ok(Math.abs(psnr(a, b) - 10 * Math.log10(255 * 255)) < 1e-12);
  assert.ok(ssim(a, b) < 1 && Math.abs(ssim(a, b) - ssim(b, a)) < 1e-15);
  assert.throws(() => psnr(a, createFrame(48, 64)), RangeError);
});

test('ssim building blocks: OpenCV’s Gaussian kernel and BORDER_REFLECT_101', () => {
  const k = gaussianKernel(11, 1.5);
  assert.ok(Math.abs(k.reduce((s, v) => s + v, 0) - 1) < 1e-15);
  assert.ok(Math.abs(k[5]! - 0.266011) < 1e-6 && Math.abs(k[0]! - 0.00102838) < 1e-7); // cv2.getGaussianKernel(11, 1.5)
  assert.deepEqual(
    [-3, -2, -1, 0, 4, 5, 6, 7].map((p) => reflect101(p, 5)),
    [3, 2, 1, 0, 4, 3, 2, 1],
  );
  assert.deepEqual(
    [-5, 5, 9].map((p) => reflect101(p, 2)),
    [1, 1, 1],
  );
});

test('metrics equal dis_baseline.py’s own psnr / ssim functions (run by Debian python3 with cv2)', async () => {
  const may = await collect(decodeFrames(clipPath('may'), { count: 11 }));
  const crf = await collect(decodeFrames(reencoded, { count: 1 }));
  const pairs: Array<[RgbFrame, RgbFrame]> = [
    [may[0]!, may[10]!], // real motion
    [may[0]!, crf[0]!], // compression loss
    [may[3]!, may[3]!], // identical
  ];
  const files: string[] = [];
  for (const [i, [a, b]] of pairs.entries()) {
    for (const [tag, f] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const p = join(dir, `pair${i}_${tag}.rgb`);
      await writeFile(p, f.data);
      files.push(p);
    }
  }
  // The baseline's `ssim` / `psnr` are taken from the script itself (its AST), not copied here.
  const code = `import ast, hashlib, json, sys, cv2, numpy as np
tree = ast.parse(open(sys.argv[1]).read())
keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) or (isinstance(n, ast.FunctionDef) and n.name in ('ssim', 'psnr'))]
ns = {}; exec(compile(ast.Module(body=keep, type_ignores=[]), 'dis_baseline.py', 'exec'), ns)
h, w = int(sys.argv[2]), int(sys.argv[3]); out = []
for fa, fb in zip(sys.argv[4::2], sys.argv[5::2]):
    a = np.fromfile(fa, np.uint8).reshape(h, w, 3)[..., ::-1].copy(); b = np.fromfile(fb, np.uint8).reshape(h, w, 3)[..., ::-1].copy()
    ga, gb = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)
    out.append({'psnr': float(ns['psnr'](a, b)), 'ssim': float(ns['ssim'](ga, gb)), 'gray': hashlib.sha256(ga.tobytes()).hexdigest()})
print(json.dumps(out))`;
  const ref = JSON.parse(await python(code, [BASELINE, '512', '512', ...files])) as Array<{
    psnr: number;
    ssim: number;
    gray: string;
  }>;
  pairs.forEach(([a, b], i) => {
    assert.equal(
      createHash('sha256').update(lumaU8(a)).digest('hex'),
      ref[i]!.gray,
      `pair ${i}: luma equals cv2 BGR2GRAY`,
    );
    assert.ok(Math.abs(psnr(a, b) - ref[i]!.psnr) < 1e-9, `pair ${i}: psnr ${psnr(a, b)} vs ${ref[i]!.psnr}`);
    assert.ok(Math.abs(ssim(a, b) - ref[i]!.ssim) < 1e-9, `pair ${i}: ssim ${ssim(a, b)} vs ${ref[i]!.ssim}`);
  });
  assert.ok(ref[0]!.ssim < 0.99 && ref[1]!.psnr < 45 && ref[2]!.psnr === 99, 'the pairs span real differences');
});

test('compareVideos agrees with ffmpeg’s own psnr and ssim filters on a clip vs its CRF 30 re-encode', async () => {
  const ours = await compareVideos(clipPath('may'), reencoded, { count: N });
  assert.equal(ours.frames, N);
  assert.deepEqual([ours.width, ours.height], [512, 512]);

  // PSNR: ffmpeg's filter on rgb24 inputs is the same quantity (MSE over R, G, B) on the same RGB frames (its
  // yuv→rgb24 conversion equals our decoder's), so the only slack is the stats file's 2 decimals.
  const psnrStats = join(dir, 'psnr.log');
  await filterBoth(`[0:v]trim=end_frame=${N},format=rgb24[a];[1:v]format=rgb24[b];[a][b]psnr=stats_file=${psnrStats}`);
  const ff = statsMean(await readFile(psnrStats, 'utf8'), 'psnr_avg');
  assert.equal(ff.perFrame.length, N);
  assert.ok(Math.abs(ours.psnr.mean - ff.mean) < 0.05, `PSNR ours ${ours.psnr.mean} vs ffmpeg ${ff.mean}`);
  ours.psnr.perFrame.forEach((v, i) =>
    assert.ok(Math.abs(v - ff.perFrame[i]!) < 0.01, `frame ${i}: ${v} vs ${ff.perFrame[i]}`),
  );

  // SSIM: ffmpeg's filter is not this SSIM. It averages 8×8 box windows on a 4-px grid (x264's variant) of the
  // studio-range Y plane, where ours is the Gaussian 11×11 σ 1.5 window on full-range BT.601 luma from RGB. So we
  // compare on gray (luma) inputs and allow 0.3 points on the % scale: measured on 30-50 CRF 30 frames, ffmpeg −
  // ours = +0.10 (this clip), −0.13 (lp_d20), +1.1 (hdtf_katiehill, whose restored skin texture makes the window
  // shape matter), so this is a sanity bound on this clip only. Exactness against the protocol's definition is
  // pinned by the dis_baseline.py test above (1e-9); the per-frame series must also move together.
  const ssimStats = join(dir, 'ssim.log');
  await filterBoth(`[0:v]trim=end_frame=${N},format=gray[a];[1:v]format=gray[b];[a][b]ssim=stats_file=${ssimStats}`);
  const fs = statsMean(await readFile(ssimStats, 'utf8'), 'All');
  assert.equal(fs.perFrame.length, N);
  assert.ok(
    Math.abs(100 * ours.ssim.mean - 100 * fs.mean) < 0.3,
    `SSIM % ours ${100 * ours.ssim.mean} vs ffmpeg ${100 * fs.mean}`,
  );
  assert.ok(correlation(ours.ssim.perFrame, fs.perFrame) > 0.9, 'per-frame SSIM tracks ffmpeg’s');
});

test('compareVideos: a video against itself is perfect; different lengths are refused', async () => {
  const same = await compareVideos(clipPath('may'), clipPath('may'), { maxSide: 64, count: 4 });
  assert.deepEqual([same.frames, same.psnr.mean, same.ssim.mean], [4, 99, 1]);
  await assert.rejects(compareVideos(clipPath('may'), reencoded), /has 125 frames and .* has 50/);
});

test('ssim is fast: a 512² pair takes tens of ms of CPU', () => {
  const a = createFrame(
    512,
    512,
    Uint8Array.from({ length: 512 * 512 * 3 }, (_, i) => (i * 7919) & 255),
  );
  const b = createFrame(
    512,
    512,
    a.data.map((v, i) => (v + (i % 9)) & 255),
  );
  ssim(a, b); // warm-up (JIT)
  const t = process.cpuUsage();
  for (let i = 0; i < 3; i++) ssim(a, b);
  const used = process.cpuUsage(t);
  const ms = (used.user + used.system) / 1000 / 3;
  assert.ok(ms < 150, `${ms.toFixed(0)} ms of CPU per 512² SSIM`);
});
