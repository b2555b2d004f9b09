#!/usr/bin/python3
"""The DIS optical-flow baseline of the reconstruction protocol at the video's own size (no downscaling): OpenCV
DIS (preset medium), one reference (frame 0), frame -> reference flow, bilinear backward warp with border
replication; mean PSNR (RGB, 8-bit) and SSIM (luma, Gaussian 11x11, sigma 1.5) over the non-reference frames.
Same sums as ../shared/baselines/dis_baseline.py, which works at 512 px; this one serves `streamedit bench
source-res` (source-resolution output).
usage: dis_source_size.py VIDEO [max_frames]"""
import sys
import time

import cv2
import numpy as np


def ssim(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    k, s = (11, 11), 1.5
    mu_a, mu_b = cv2.GaussianBlur(a, k, s), cv2.GaussianBlur(b, k, s)
    saa = cv2.GaussianBlur(a * a, k, s) - mu_a ** 2
    sbb = cv2.GaussianBlur(b * b, k, s) - mu_b ** 2
    sab = cv2.GaussianBlur(a * b, k, s) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return m.mean()


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 * 255 / mse)


def main():
    path = sys.argv[1]
    max_frames = int(sys.argv[2]) if len(sys.argv) > 2 else 10 ** 9
    cap = cv2.VideoCapture(path)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    ref = None
    ps, ss = [], []
    n = 0
    t0 = time.time()
    # Streamed: one frame at a time besides the reference (a 4K clip never sits in memory whole).
    while n < max_frames:
        ok, f = cap.read()
        if not ok:
            break
        h, w = f.shape[:2]
        f = f[: h // 2 * 2, : w // 2 * 2]  # even sides, as the product's output
        n += 1
        if ref is None:
            ref = f
            g_ref = cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY)
            h, w = ref.shape[:2]
            gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            continue
        flow = dis.calc(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), g_ref, None)
        rec = cv2.remap(ref, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        ps.append(psnr(rec, f))
        ss.append(ssim(cv2.cvtColor(rec, cv2.COLOR_BGR2GRAY), cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)))
    el = time.time() - t0
    name = path.split('/')[-1]
    print(f"{name}\tframes={n}\t{w}x{h}\tPSNR={np.mean(ps):.2f}\tSSIM={100 * np.mean(ss):.1f}\trefs_per_100={100 / n:.1f}\tfps={n / el:.1f}")


if __name__ == '__main__':
    main()
