"""Training objective (paper eq. 2): L_total = α1·L_rec + α2·L_unc + λ_s·L_smooth.

- L_rec: L1 photometric error between the current frame and the reference warped by the network's flow (the one
  warp convention of warp.py), measured at the internal resolution (where the network sees the images) on the flow
  the network hands to the Horn-Schunck stage, plus the coarser estimates (1/4 with weight `aux`, the coarse grid with `aux`/2) on area-downsampled
  images, which lets the coarse stages learn from the first iterations. The Horn-Schunck stage has no parameters.
- L_unc: Laplace negative log-likelihood |r| / σ + log σ of the final flow's per-pixel residual r, detached so σ
  explains the residual and cannot move the flow; minimised at σ = |r|.
- L_smooth: edge-aware first-order smoothness of the network's flow (at 1/2, pixels per pixel, damped by
  exp(−edge_sharpness·|∇I|) of the current frame), so edits follow the geometry where the photometric term alone
  is ambiguous (flat skin, background).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import torch
from torch import Tensor

from .warp import area_resize, backward_warp, resize_flow


@dataclass(frozen=True)
class LossWeights:
    rec: float = 1.0  # α1
    unc: float = 0.1  # α2
    aux: float = 0.5  # L_rec weight of the 1/4 estimate; the coarse grid's is half of it
    smooth: float = 0.02  # λ_s
    edge_sharpness: float = 10.0


def photometric_residual(cur: Tensor, ref: Tensor, flow: Tensor) -> Tensor:
    """Per-pixel L1 residual |cur − warp(ref, flow)|, mean over colour channels: [B, 1, H, W]."""
    return (cur - backward_warp(ref, flow)).abs().mean(dim=1, keepdim=True)


def laplace_nll(residual: Tensor, log_sigma: Tensor) -> Tensor:
    """Eq. (2): |y − ŷ| / σ + log σ per pixel, with the residual detached (σ explains it, the flow ignores it)."""
    return residual.detach() * torch.exp(-log_sigma) + log_sigma


def edge_aware_smoothness(flow: Tensor, image: Tensor, sharpness: float) -> Tensor:
    """Mean |∂flow| weighted by exp(−sharpness·|∂I|) along x and y."""
    dfx = (flow[..., :, 1:] - flow[..., :, :-1]).abs().sum(1, keepdim=True)
    dfy = (flow[..., 1:, :] - flow[..., :-1, :]).abs().sum(1, keepdim=True)
    dix = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
    diy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
    return (dfx * torch.exp(-sharpness * dix)).mean() + (dfy * torch.exp(-sharpness * diy)).mean()


def total_loss(out: Dict[str, Tensor], ref_image: Tensor, cur_image: Tensor, w: LossWeights) -> Dict[str, Tensor]:
    """Every term of the objective; `loss` is what is minimised.

    L_rec trains the network through the flow it hands to the Horn-Schunck stage (flow2, upsampled and measured at
    the internal resolution, where the network sees the images) and, with `aux` and `aux`/2, the coarser
    estimates. The final flow's residual (model output) is what σ explains (L_unc) and what `l_final` reports.
    """
    net = out["flow_internal"]
    h, wd = net.shape[-2], net.shape[-1]
    l_rec = photometric_residual(area_resize(cur_image, h, wd), area_resize(ref_image, h, wd), net).mean()
    for flow, weight in ((out["flow4"], w.aux), (out["flow8"], 0.5 * w.aux)):
        h, wd = flow.shape[-2], flow.shape[-1]
        l_rec = l_rec + weight * photometric_residual(area_resize(cur_image, h, wd), area_resize(ref_image, h, wd), flow).mean()
    residual = out["residual"]
    l_unc = laplace_nll(residual, out["log_sigma"]).mean()
    half = out["flow2"]
    l_smooth = edge_aware_smoothness(half, area_resize(cur_image, half.shape[-2], half.shape[-1]), w.edge_sharpness)
    loss = w.rec * l_rec + w.unc * l_unc + w.smooth * l_smooth
    return {"loss": loss, "l_rec": l_rec, "l_unc": l_unc, "l_smooth": l_smooth, "l_final": residual.mean()}
