"""The project's one warp convention, on torch tensors.

Pixel (x, y) of the target samples the source at (x + u, y + v), pixel centres at integer coordinates, bilinear,
border clamping: exactly TS `backwardWarpPlanar` (libs/pipeline/src/image/warp.ts), pinned by a parity test.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def pixel_grid(height: int, width: int, like: Tensor) -> Tensor:
    """[1, 2, H, W] integer pixel coordinates (x then y) with `like`'s dtype and device."""
    ys = torch.arange(height, dtype=like.dtype, device=like.device).view(1, 1, height, 1).expand(1, 1, height, width)
    xs = torch.arange(width, dtype=like.dtype, device=like.device).view(1, 1, 1, width).expand(1, 1, height, width)
    return torch.cat([xs, ys], dim=1)


def backward_warp(src: Tensor, flow: Tensor) -> Tensor:
    """Samples `src` [B, C, H, W] at (x + u, y + v) for a flow [B, 2, H, W] in pixels of that same size.

    grid = (2 (x + u) + 1) / W − 1 with align_corners=False is the pixel-centre convention; 'border' clamps like TS.
    """
    height, width = flow.shape[-2], flow.shape[-1]
    pos = pixel_grid(height, width, flow) + flow
    gx = (2.0 * pos[:, 0] + 1.0) / width - 1.0
    gy = (2.0 * pos[:, 1] + 1.0) / height - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)


def resize_flow(flow: Tensor, height: int, width: int) -> Tensor:
    """Bilinear resize (half-pixel centres) with displacements rescaled to the new size: TS `resizeFlow`."""
    if flow.shape[-2] == height and flow.shape[-1] == width:
        return flow
    scale = torch.tensor([width / flow.shape[-1], height / flow.shape[-2]], dtype=flow.dtype, device=flow.device)
    resized = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
    return resized * scale.view(1, 2, 1, 1)


def area_resize(image: Tensor, height: int, width: int) -> Tensor:
    """Box-filter resize (torch 'area' = adaptive average pooling); TS `resizeAreaPlanar` computes the same bins."""
    if image.shape[-2] == height and image.shape[-1] == width:
        return image
    return F.adaptive_avg_pool2d(image, (height, width))
