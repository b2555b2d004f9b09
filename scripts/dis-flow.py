#!/usr/bin/python3
"""OpenCV DIS optical flow (preset medium, as ../shared/baselines/dis_baseline.py) from every frame of a video to its
frame 0, streamed to stdout: for t = 1..N-1, the flow of frame t to frame 0 as float32 planes u then v ([2, H, W],
pixel x of frame t samples frame 0 at x + (u, v)). Frames are scaled like the baseline (longer side <= MAX_SIDE).
usage: dis-flow.py VIDEO FRAMES MAX_SIDE"""
import sys, cv2, numpy as np

path, n, max_side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cap = cv2.VideoCapture(path)
dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
out = sys.stdout.buffer
ref = None
for t in range(n):
    ok, f = cap.read()
    if not ok:
        sys.exit(f"{path}: only {t} frames")
    h, w = f.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        f = cv2.resize(f, (int(w * s) // 2 * 2, int(h * s) // 2 * 2), interpolation=cv2.INTER_AREA)
    g = cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)
    if ref is None:
        ref = g
        sys.stderr.write(f"size {g.shape[1]}x{g.shape[0]}\n")
        continue
    flow = dis.calc(g, ref, None)
    out.write(np.ascontiguousarray(flow.transpose(2, 0, 1), dtype=np.float32).tobytes())
    out.flush()
