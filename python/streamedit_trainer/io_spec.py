"""The one place that describes the PPCE model's interface and the training data directory.

Mirrored by libs/pipeline/src/correspondence/io-spec.ts (keep both in step).

Model inputs (float32, NCHW, fixed size Hm×Wm chosen at training time, multiples of 8; model_size() below: the
working size itself for the cpu/paper presets, 64 for tiny):
  ref_image  [1, 3, Hm, Wm]   reference frame, RGB 0..1, area-resized from working size
  cur_image  [1, 3, Hm, Wm]   current frame, same
  ref_feat   [1, C, h, w]     backbone descriptors of the reference (XFeat: C=64, 32×32, L2-normalised)
  cur_feat   [1, C, h, w]     same for the current frame
  init_flow  [1, 2, Hm, Wm]   landmark-warp displacement current → reference, pixels of Hm×Wm, planar u then v
Model outputs:
  flow       [1, 2, Hm, Wm]   displacement current → reference in pixels: pixel (x, y) of the current frame samples
                              the reference at (x + u, y + v), pixel centres at integers (warp.py)
  log_sigma  [1, 1, Hm, Wm]   natural log of the Laplace scale σ of the photometric residual (0..1 intensities)

Training data directory (written by TypeScript; read with numpy.memmap by data.py):
  frames.u8 [N, H, W, 3] uint8 + frames.json {count, width, height, fps: {num, den}}
  features.f32 [N, C, h, w] float32 + features.json {count, channels, width, height, backbone}
  masks.u8 [N, H, W] uint8 person mask 0..255 (optional: absent means every pixel is the person)
  references.json {references: [frame index, …], frameReference: [index into references, per frame],
                   trainFrames?: the trainer samples only frames below it (the streaming split; default all)}
  init_flow.f16 [N, 2, Hm, Wm] float16 + init_flow.json {width: Wm, height: Hm} (optional: absent means zeros;
                another size is resampled with resize_flow)
Trainer outputs in --out: checkpoint-ITER.pt (+ .sha256), scores-ITER.json, one JSON line per event on stdout.
"""
from __future__ import annotations

import math
from typing import Dict, Tuple

INPUT_NAMES: Tuple[str, ...] = ("ref_image", "cur_image", "ref_feat", "cur_feat", "init_flow")
OUTPUT_NAMES: Tuple[str, ...] = ("flow", "log_sigma")
ONNX_OPSET = 16  # torch 1.13 exports grid_sample from opset 16


def model_size(width: int, height: int, side: int) -> Tuple[int, int]:
    """Model resolution for a working size: the longer side becomes `side`, both rounded to multiples of 8.

    Same rule as TS `modelSize` (512×480 at side 256 → 256×240).
    """
    scale = side / max(width, height)

    def round8(v: float) -> int:  # halves round up, like JS Math.round
        return max(8, int(math.floor(v * scale / 8 + 0.5)) * 8)

    return round8(width), round8(height)


def input_shapes(width: int, height: int, channels: int, feat_width: int, feat_height: int) -> Dict[str, Tuple[int, ...]]:
    return {
        "ref_image": (1, 3, height, width),
        "cur_image": (1, 3, height, width),
        "ref_feat": (1, channels, feat_height, feat_width),
        "cur_feat": (1, channels, feat_height, feat_width),
        "init_flow": (1, 2, height, width),
    }
