"""Temporal consistency of an edited video: the warping error between consecutive output frames.

Frame t−1 of the output is warped to frame t with the optical flow between the ORIGINAL frames (OpenCV DIS,
t → t−1, backward warp), pixels that fail a forward-backward check are masked as occluded, and the mean absolute
difference to output frame t (0..255) is averaged over frames. A gain in PSNR that makes the video flicker shows
up here. Needs Debian's python3-opencv (a benchmark tool, not used by training).
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np


def _frames(path: str, limit: int) -> List[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(path)
    out: List[np.ndarray] = []
    while len(out) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    return out


def warping_error(output_path: str, original_path: str, limit: int = 10**9) -> Dict[str, float]:
    """Mean occlusion-masked |out_t − warp(out_{t−1})| over frames, and the same figure for the original video."""
    import cv2

    outs, origs = _frames(output_path, limit), _frames(original_path, limit)
    n = min(len(outs), len(origs))
    if n < 2:
        raise ValueError(f"need at least two frames in both videos, got {len(outs)} and {len(origs)}.")
    h, w = outs[0].shape[:2]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    errors, floor = [], []
    for t in range(1, n):
        cur = cv2.cvtColor(cv2.resize(origs[t], (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        prev = cv2.cvtColor(cv2.resize(origs[t - 1], (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        flow = dis.calc(cur, prev, None)  # t → t−1
        back = dis.calc(prev, cur, None)
        mx, my = gx + flow[..., 0], gy + flow[..., 1]
        bx = cv2.remap(back[..., 0], mx, my, cv2.INTER_LINEAR)
        by = cv2.remap(back[..., 1], mx, my, cv2.INTER_LINEAR)
        valid = np.sqrt((flow[..., 0] + bx) ** 2 + (flow[..., 1] + by) ** 2) <= 1.5
        if not valid.any():
            continue
        warped = cv2.remap(outs[t - 1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        errors.append(float(np.abs(outs[t].astype(np.float32) - warped)[valid].mean()))
        orig_cur = cv2.resize(origs[t], (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        orig_prev = cv2.remap(cv2.resize(origs[t - 1], (w, h), interpolation=cv2.INTER_AREA), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        floor.append(float(np.abs(orig_cur - orig_prev.astype(np.float32))[valid].mean()))
    return {"frames": float(n), "warpingError": float(np.mean(errors)), "originalWarpingError": float(np.mean(floor))}
