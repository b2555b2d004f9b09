"""Training objective (paper eq. 2): L_total = α1·L_rec + α2·L_unc (+ small documented extras).

- L_rec: L1 photometric error between the current frame and the reference warped by the predicted flow (the one
  warp convention of warp.py), plus the same error at the intermediate levels (1/2, 1/4, coarse) on area-downsampled
  images with weight `aux_weight`·0.5^level, which lets the coarse stages learn from the first iterations.
- L_unc: Laplace negative log-likelihood |r| / σ + log σ of the per-pixel residual r, detached so σ explains the
  residual and cannot move the flow; minimised at σ = |r|.
- L_smooth: edge-aware first-order smoothness of the flow (weight `smooth_weight`, in pixels of the model resolution
  per pixel, damped by exp(−edge_sharpness·|∇I|) of the current frame), so edits follow the geometry where the
  photometric term alone is ambiguous (flat skin, background).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import torch
from torch import Tensor

from .warp import area_resize, backward_warp, resize_flow


@dataclass(frozen=True)
class LossWeights:
    rec: float = 1.0  # α1
    unc: float = 0.1  # α2
    aux: float = 0.5  # intermediate levels' L_rec weight (halved per level)
    smooth: float = 0.02
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


def total_loss(
    out: Dict[str, Tensor],
    ref_image: Tensor,
    cur_image: Tensor,
    w: LossWeights,
    ref_full: Optional[Tensor] = None,
    cur_full: Optional[Tensor] = None,
) -> Dict[str, Tensor]:
    """Every term of the objective; `loss` is what is minimised.

    With the working-size frames (`ref_full`, `cur_full`), L_rec is measured there, on the flow upsampled the way
    production applies it (resize_flow), and the model-resolution error joins the auxiliary terms.
    """
    residual = photometric_residual(cur_image, ref_image, out["flow"])
    aux = [out["flow2"], out["flow4"], out["flow8"]]
    l_aux = torch.zeros((), dtype=residual.dtype, device=residual.device)
    if ref_full is not None and cur_full is not None:
        flow_full = resize_flow(out["flow"], cur_full.shape[-2], cur_full.shape[-1])
        l_rec = photometric_residual(cur_full, ref_full, flow_full).mean()
        l_aux = l_aux + residual.mean()
    else:
        l_rec = residual.mean()
    for level, flow in enumerate(aux):
        h, wd = flow.shape[-2], flow.shape[-1]
        l_aux = l_aux + 0.5 ** (level + 1) * photometric_residual(area_resize(cur_image, h, wd), area_resize(ref_image, h, wd), flow).mean()
    l_unc = laplace_nll(residual, out["log_sigma"]).mean()
    l_smooth = edge_aware_smoothness(out["flow"], cur_image, w.edge_sharpness)
    loss = w.rec * (l_rec + w.aux * l_aux) + w.unc * l_unc + w.smooth * l_smooth
    return {"loss": loss, "l_rec": l_rec, "l_unc": l_unc, "l_smooth": l_smooth, "l_aux": l_aux}
