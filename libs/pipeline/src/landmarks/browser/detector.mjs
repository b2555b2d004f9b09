// Browser side of ChromiumLandmarkDetector (a plain ES module: tsc does not compile browser/). Everything this page
// loads is served by Node through page.route on the fake origin http://streamedit.localhost; it never reaches the
// network. Node calls `streamEdit.start(options)` once through page.evaluate; frames then travel over a loopback
// WebSocket as raw bytes, because a 512² RGB frame through page.evaluate (base64 in CDP JSON) costs ~30 ms alone.
//
// Request (binary):  u32 id, u32 width, u32 height (little-endian), then width·height·3 RGB bytes.
// Reply (binary):    u32 id, u32 n, n bytes of UTF-8 JSON { face, landmarks?, blendshapes?, ms?, error? }, then
//                    width·height mask bytes (person confidence 0..255). Landmarks are normalised (x, y) pairs.
/* global window, WebSocket, ImageData, TextEncoder, performance */
import { FaceLandmarker, FilesetResolver, ImageSegmenter } from '/tasks-vision/vision_bundle.mjs';

const HEADER_BYTES = 12;
let landmarker;
let segmenter;

/** Loads both tasks (CPU delegate: headless Chromium only has SwiftShader), then opens the frame socket. */
async function start({
  faceModelUrl,
  segmenterModelUrl,
  socketUrl,
  minFaceDetectionConfidence,
  minFacePresenceConfidence,
}) {
  const fileset = await FilesetResolver.forVisionTasks('/tasks-vision/wasm');
  landmarker = await FaceLandmarker.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: faceModelUrl, delegate: 'CPU' },
    // IMAGE mode: every frame is detected on its own, so a frame's result does not depend on the frames before it.
    runningMode: 'IMAGE',
    numFaces: 1,
    minFaceDetectionConfidence,
    minFacePresenceConfidence,
    outputFaceBlendshapes: true,
  });
  segmenter = await ImageSegmenter.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: segmenterModelUrl, delegate: 'CPU' },
    runningMode: 'IMAGE',
    outputConfidenceMasks: true,
    outputCategoryMask: false,
  });
  await openSocket(socketUrl);
  return true;
}

function openSocket(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`frame socket ${url} failed`));
    socket.onmessage = (event) => socket.send(answer(event.data));
  });
}

/** One request → one reply; a failure inside MediaPipe is reported in the reply, not thrown away. */
function answer(buffer) {
  const [id, width, height] = new Uint32Array(buffer, 0, 3);
  let result;
  let mask = new Uint8Array(width * height);
  try {
    const t0 = performance.now();
    const image = toImageData(width, height, new Uint8Array(buffer, HEADER_BYTES));
    const t1 = performance.now();
    result = detectFace(image);
    const t2 = performance.now();
    mask = personMask(image, mask);
    result.ms = { convert: t1 - t0, landmarks: t2 - t1, mask: performance.now() - t2 };
  } catch (err) {
    result = { face: false, error: String(err?.stack ?? err) };
  }
  const json = new TextEncoder().encode(JSON.stringify(result));
  const out = new Uint8Array(8 + json.length + mask.length);
  new DataView(out.buffer).setUint32(0, id, true);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(mask, 8 + json.length);
  return out;
}

/** RGB → opaque RGBA ImageData, the cheapest image source MediaPipe takes. */
function toImageData(width, height, rgb) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; j < rgba.length; i += 3, j += 4) {
    rgba[j] = rgb[i];
    rgba[j + 1] = rgb[i + 1];
    rgba[j + 2] = rgb[i + 2];
    rgba[j + 3] = 255;
  }
  return new ImageData(rgba, width, height);
}

function detectFace(image) {
  const found = landmarker.detect(image);
  const points = found.faceLandmarks[0];
  if (!points) return { face: false };
  const landmarks = new Array(points.length * 2);
  for (let i = 0; i < points.length; i++) {
    landmarks[2 * i] = points[i].x;
    landmarks[2 * i + 1] = points[i].y;
  }
  const categories = found.faceBlendshapes[0]?.categories ?? [];
  const blendshapes = Object.fromEntries(categories.map((c) => [c.categoryName, c.score]));
  return { face: true, landmarks, blendshapes };
}

/** The selfie segmenter's one confidence mask (person), resized by MediaPipe to the image, as bytes. */
function personMask(image, out) {
  segmenter.segment(image, (result) => {
    const masks = result.confidenceMasks ?? [];
    const person = masks[masks.length - 1];
    if (!person) return;
    if (person.width !== image.width || person.height !== image.height) throw new Error('mask size differs from image');
    const f = person.getAsFloat32Array();
    for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(Math.max(f[i], 0), 1) * 255);
  });
  return out;
}

window.streamEdit = { start };
