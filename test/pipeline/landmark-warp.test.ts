import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LANDMARK_COUNT, LandmarkWarp, backwardWarpRgb, createFrame } from '@streamedit/pipeline';

const W = 512;
const H = 512;

/** 478 deterministic points filling a face-sized ellipse (a ring on its rim so the hull is round). */
function faceLikeLandmarks(cx = 256, cy = 250, rx = 95, ry = 125): Float32Array {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out = new Float32Array(2 * LANDMARK_COUNT);
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    const rim = i < 40;
    const a = rim ? (2 * Math.PI * i) / 40 : 2 * Math.PI * rand();
    const r = rim ? 1 : Math.sqrt(rand()) * 0.97;
    out[2 * i] = cx + rx * r * Math.cos(a);
    out[2 * i + 1] = cy + ry * r * Math.sin(a);
  }
  return out;
}

/** p' = A p + t as [a, b, c, d, tx, ty]: x' = a x + b y + tx, y' = c x + d y + ty. */
function applyAffine(points: Float32Array, [a, b, c, d, tx, ty]: number[]): Float32Array {
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    out[i] = a! * points[i]! + b! * points[i + 1]! + tx!;
    out[i + 1] = c! * points[i]! + d! * points[i + 1]! + ty!;
  }
  return out;
}

test('landmark warp: identity landmarks give a zero field', () => {
  const ref = faceLikeLandmarks();
  const { flow, inHull } = LandmarkWarp.fromReference(ref, W, H).field(ref);
  let max = 0;
  for (const x of flow.data) max = Math.max(max, Math.abs(x));
  assert.ok(max <= 1e-6, `max |flow| ${max}`);
  assert.ok(inHull.reduce((s, x) => s + x, 0) > Math.PI * 90 * 120, 'the face hull is covered');
});

test('landmark warp: an affine motion of the landmarks gives that affine field inside the hull, zero at the border', () => {
  const ref = faceLikeLandmarks();
  const theta = (6 * Math.PI) / 180;
  const s = 1.07;
  const [a, b, c, d] = [s * Math.cos(theta), -s * Math.sin(theta) + 0.03, s * Math.sin(theta), s * Math.cos(theta)];
  const [cx, cy] = [256, 250];
  const motion = [a, b, c, d, cx - a * cx - b * cy + 9.3, cy - c * cx - d * cy - 6.1];
  const cur = applyAffine(ref, motion);
  const { flow, inHull } = LandmarkWarp.fromReference(ref, W, H).field(cur);
  // Expected: p ↦ A⁻¹ (p − t).
  const det = a * d - b * c;
  const [tx, ty] = [motion[4]!, motion[5]!];
  let maxErr = 0;
  let inside = 0;
  let maxOutside = 0;
  for (let y = 0, i = 0; y < H; y++) {
    for (let x = 0; x < W; x++, i++) {
      const u = flow.data[i]!;
      const v = flow.data[W * H + i]!;
      if (inHull[i]) {
        inside++;
        const rx = (d * (x - tx) - b * (y - ty)) / det;
        const ry = (-c * (x - tx) + a * (y - ty)) / det;
        maxErr = Math.max(maxErr, Math.abs(x + u - rx), Math.abs(y + v - ry));
      } else maxOutside = Math.max(maxOutside, Math.hypot(u, v));
      if (x === 0 || y === 0 || x === W - 1 || y === H - 1)
        assert.ok(Math.abs(u) < 1e-4 && Math.abs(v) < 1e-4, `border pixel (${x}, ${y}) moves by (${u}, ${v})`);
    }
  }
  let maxLandmark = 0;
  for (let i = 0; i < ref.length; i += 2)
    maxLandmark = Math.max(maxLandmark, Math.hypot(ref[i]! - cur[i]!, ref[i + 1]! - cur[i + 1]!));
  assert.ok(inside > 30_000, `hull pixels ${inside}`);
  assert.ok(maxErr <= 0.01, `max error inside the hull ${maxErr} px`);
  // Outside, each triangle interpolates between landmark displacements and the anchors' zero.
  assert.ok(maxOutside <= maxLandmark + 1e-3, `outside ${maxOutside} > largest landmark displacement ${maxLandmark}`);
});

test('landmark warp: warping the reference with the field moves it with the landmarks (I_Lwarp)', () => {
  const ref = faceLikeLandmarks();
  const [tx, ty] = [7, -4];
  const cur = applyAffine(ref, [1, 0, 0, 1, tx, ty]);
  const { flow, inHull } = LandmarkWarp.fromReference(ref, W, H).field(cur);
  const image = createFrame(W, H);
  for (let y = 0, i = 0; y < H; y++)
    for (let x = 0; x < W; x++, i++) image.data.set([x % 256, y % 256, (x * 7 + y * 13) % 256], 3 * i);
  const warped = backwardWarpRgb(image, flow);
  let checked = 0;
  for (let y = 0, i = 0; y < H; y++) {
    for (let x = 0; x < W; x++, i++) {
      if (!inHull[i]) continue;
      const j = 3 * ((y - ty) * W + (x - tx));
      assert.deepEqual(
        [...warped.data.subarray(3 * i, 3 * i + 3)],
        [...image.data.subarray(j, j + 3)],
        `pixel (${x}, ${y})`,
      );
      checked++;
    }
  }
  assert.ok(checked > 30_000);
});

test('landmark warp: a fold-over stays local and finite', () => {
  const ref = faceLikeLandmarks();
  const warp = LandmarkWarp.fromReference(ref, W, H);
  // Move the point nearest the centre 25 px: its triangles flip over their neighbours.
  let k = 0;
  for (let i = 0; i < LANDMARK_COUNT; i++)
    if (Math.hypot(ref[2 * i]! - 256, ref[2 * i + 1]! - 250) < Math.hypot(ref[2 * k]! - 256, ref[2 * k + 1]! - 250))
      k = i;
  const cur = Float32Array.from(ref);
  cur[2 * k] = cur[2 * k]! + 25;
  const folded = warp.field(cur).flow.data;
  const plain = warp.field(ref).flow.data;
  let changed = 0;
  for (let y = 0, i = 0; y < H; y++) {
    for (let x = 0; x < W; x++, i++) {
      assert.ok(Number.isFinite(folded[i]) && Number.isFinite(folded[W * H + i]));
      const near =
        Math.hypot(x - ref[2 * k]!, y - ref[2 * k + 1]!) < 80 || Math.hypot(x - cur[2 * k]!, y - cur[2 * k + 1]!) < 80;
      if (folded[i] !== plain[i] || folded[W * H + i] !== plain[W * H + i]) {
        changed++;
        assert.ok(near, `pixel (${x}, ${y}) far from the moved landmark changed`);
      }
    }
  }
  assert.ok(changed > 0, 'the moved landmark changes the field');
  assert.throws(() => warp.field(new Float32Array(2 * LANDMARK_COUNT).fill(NaN)), RangeError);
});

test('landmark warp: a 512² field takes a few ms', () => {
  const ref = faceLikeLandmarks();
  const warp = LandmarkWarp.fromReference(ref, W, H);
  const cur = applyAffine(ref, [1.02, 0.01, -0.01, 0.99, 3, 2]);
  warp.field(cur);
  const runs = 20;
  const started = performance.now();
  for (let r = 0; r < runs; r++) warp.field(cur);
  const ms = (performance.now() - started) / runs;
  console.log(
    `landmark warp field ${W}×${H}: ${ms.toFixed(2)} ms (${warp.triangleCounts.inner} inner + ${warp.triangleCounts.outer} outer triangles)`,
  );
  assert.ok(ms < 100, `${ms} ms per field`);
});
