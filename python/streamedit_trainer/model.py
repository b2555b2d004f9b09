"""PPCE: probabilistic pixel correspondence (paper section 3.1, eq. 1), small enough to train on 2 CPU cores.

Inputs and outputs are described once in `io_spec.py`. The network maps the current frame to its reference:

1. Coarse matching on the backbone grid (eq. 1; 32×32 for XFeat): queries from the current frame's features (with
   F_warp, the reference features sampled by the landmark warp), keys from the reference's features, both with a
   positional encoding; attention over every reference position plus a Gaussian prior centred where the landmark
   warp points. The soft-argmax of the attention is the coarse flow, so with untrained weights it is already
   descriptor matching around the landmark warp. A small conv net refines it.
2. Coarse-to-fine refinement at 1/4 (two passes, shared weights) and 1/2 of the internal resolution (the model
   resolution / `internal_scale`; 256 for the cpu preset's 512): a shared conv encoder on both images, the
   reference's features warped by the current estimate, a local correlation (cost volume) and a dilated conv net
   that predicts a residual flow.
3. Horn-Schunck: unrolled iterations of a robust variational refinement (photometric data term linearised by
   warping + smoothness) at 1/2 of the internal resolution, at the internal resolution and at the full model
   resolution, on the detached network flow. This parameter-free stage is what reaches sub-pixel
   accuracy: trained from scratch on one clip, the conv levels alone stayed ~1.5 dB below DIS after 1500 steps;
   with it, at full resolution, the same budget beats DIS by 5-14 dB (python/README.md).
4. The uncertainty head: log σ per pixel from the current frame, the reference warped by the final flow and their
   absolute difference (at the internal resolution, upsampled): σ learns to explain the photometric residual
   (Laplace NLL, eq. 2).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .warp import backward_warp, pixel_grid, resize_flow

LOG_SIGMA_MIN = -6.0  # σ ≥ 0.0025 of the 0..1 intensity range: keeps |r|/σ bounded
LOG_SIGMA_MAX = 1.0


@dataclass(frozen=True)
class ModelConfig:
    """Architecture sizes; saved in every checkpoint so export and resume rebuild the same network."""

    width: int = 512  # model resolution (multiples of 8)
    height: int = 512
    feat_channels: int = 64  # backbone descriptors (XFeat 64-d at 32×32)
    feat_width: int = 32
    feat_height: int = 32
    coarse_hidden: int = 64
    enc2: int = 16  # encoder channels at 1/2
    enc4: int = 32  # encoder channels at 1/4
    hidden4: int = 64
    hidden2: int = 32
    radius4: int = 3  # local correlation radius at 1/4 (±12 px at full model resolution)
    radius2: int = 2  # at 1/2 (±4 px)
    iters4: int = 2  # refinement passes at 1/4 (shared weights)
    depth4: int = 4  # conv layers per pass at 1/4
    depth2: int = 3  # at 1/2
    internal_scale: int = 2  # the learned stages see the images at 1/scale of the model resolution (1 or 2)
    # The Horn-Schunck stage has no weights: these are inference settings, taken from the code (not the checkpoint)
    # at export, so every checkpoint gets the current ones (ModelConfig.from_checkpoint).
    hs_iters_half: int = 12  # iterations at 1/2 of the internal resolution (cheap: 1/16 of the pixels)
    hs_iters_internal: int = 20  # at the internal resolution (1/4 of the pixels)
    hs_iters_full: int = 3  # at full model resolution (when internal_scale > 1)
    # Integration radius of the data term (combined local-global flow): 0 = per pixel. Windows at the coarse levels
    # average out sensor and codec noise on flat skin, where a per-pixel data term let the flow follow noise; the
    # full-resolution level stays per pixel for fine detail. Known-motion clip (python/README.md): edit-region EPE
    # 1.04 → 0.61 px. The plain window at the internal level costs real footage 0.8-1.6 dB of reconstruction; without
    # it the edit of the mouth-opening known-motion clip lost 1.3 dB (python/README.md, "Only the coarsest level
    # windowed?"). Wider windows, a larger α² and a sharper robust weight gained more on the known-motion clips and
    # lost 2-6 dB of reconstruction: not taken.
    hs_window_half: int = 4
    hs_window_internal: int = 4
    hs_window_full: int = 0
    # Edge-aware window at the internal level: a pixel takes the window's terms in the share k / (k + ρ|∇I|²) and its
    # own in the rest, so flat skin borrows its neighbourhood's structure while an edge keeps its own constraint; 0 =
    # the plain window. k = 1e-2 (python/README.md, "An edge-aware window"): reconstruction +0.31 / +0.44 dB
    # (KatieHill, may_theresa), the known-motion edit −0.19 to +0.35 dB on five clips (mean −0.00); 1e-3 gave +0.71 /
    # +1.05 dB of reconstruction and lost 0.55 dB of the mouth-opening clip's edit.
    hs_flat_internal: float = 1e-2
    hs_alpha2: float = 3e-4  # smoothness weight α² ((0..1 intensity)² per px²)
    hs_robust: float = 0.05  # Cauchy scale of the data term's IRLS weight (0..1 intensity)
    context4: int = 32  # hidden channels handed from the coarse level to 1/4
    context2: int = 16  # from 1/4 to 1/2
    sigma_hidden: int = 8

    def to_dict(self) -> Dict[str, float]:
        return asdict(self)

    @staticmethod
    def from_checkpoint(saved: Dict[str, float], **overrides: float) -> "ModelConfig":
        """The architecture saved in a checkpoint with today's Horn-Schunck settings (the stage has no weights, so a
        better setting applies to every checkpoint at export); `overrides` last."""
        kept = {k: v for k, v in saved.items() if not k.startswith("hs_")}
        return ModelConfig(**{**kept, **overrides})  # type: ignore[arg-type]

    def architecture(self) -> Dict[str, float]:
        """The fields that shape the weights (everything but the parameter-free Horn-Schunck settings)."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("hs_")}


def conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation), nn.LeakyReLU(0.1))


def zero_conv(cin: int, cout: int) -> nn.Conv2d:
    """Output layer that starts at zero, so an untrained stage passes its input flow through unchanged."""
    layer = nn.Conv2d(cin, cout, 3, padding=1)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def normalized_grid(height: int, width: int, like: Tensor) -> Tensor:
    """[1, 2, H, W] pixel centres in [-1, 1] (align_corners=False convention)."""
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=like.dtype, device=like.device).view(1, 2, 1, 1)
    return (pixel_grid(height, width, like) + 0.5) * scale - 1.0


def fourier_features(grid: Tensor, bands: int = 4) -> Tensor:
    """Positional encoding of normalized coordinates: sin/cos at octave frequencies, [1, 4·bands, H, W]."""
    parts = []
    for k in range(bands):
        arg = grid * (math.pi * 2.0**k)
        parts += [torch.sin(arg), torch.cos(arg)]
    return torch.cat(parts, dim=1)


def local_correlation(cur: Tensor, ref: Tensor, radius: int) -> Tensor:
    """Cost volume [B, (2r+1)², H, W]: mean over channels of cur · ref shifted by every offset within `radius`.

    Training uses `_Correlation` (hand-written backward: autograd through 49 slices allocated a zeroed padded tensor
    per slice); ONNX export traces the same sums as plain pad + slice + mul ops.
    """
    if torch.onnx.is_in_onnx_export():
        return _correlation_by_slices(cur, ref, radius)
    return _Correlation.apply(cur, ref, radius)


def _shifts(radius: int) -> List[Tuple[int, int]]:
    return [(dy, dx) for dy in range(2 * radius + 1) for dx in range(2 * radius + 1)]


def _correlation_by_slices(cur: Tensor, ref: Tensor, radius: int) -> Tensor:
    height, width = cur.shape[-2], cur.shape[-1]
    padded = F.pad(ref, (radius, radius, radius, radius))
    costs = [(cur * padded[:, :, dy : dy + height, dx : dx + width]).mean(dim=1, keepdim=True) for dy, dx in _shifts(radius)]
    return torch.cat(costs, dim=1)


class _Correlation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cur: Tensor, ref: Tensor, radius: int) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(cur, ref)
        ctx.radius = radius
        return _correlation_by_slices(cur, ref, radius)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor], None]:  # type: ignore[override]
        cur, ref = ctx.saved_tensors
        radius: int = ctx.radius
        height, width = cur.shape[-2], cur.shape[-1]
        scale = 1.0 / cur.shape[1]
        padded = F.pad(ref, (radius, radius, radius, radius))
        grad_cur = torch.zeros_like(cur)
        grad_padded = torch.zeros_like(padded)
        for k, (dy, dx) in enumerate(_shifts(radius)):
            g = grad[:, k : k + 1] * scale
            grad_cur += g * padded[:, :, dy : dy + height, dx : dx + width]
            grad_padded[:, :, dy : dy + height, dx : dx + width] += g * cur
        return grad_cur, grad_padded[:, :, radius : radius + height, radius : radius + width], None


class CoarseMatcher(nn.Module):
    """Eq. (1): cross-attention from current-frame queries to reference keys → soft-argmax coarse flow."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c = cfg.feat_channels
        self.query = nn.Conv2d(2 * c, c, 1)
        self.key = nn.Conv2d(c, c, 1)
        self.position = nn.Conv2d(16, c, 1)  # projects fourier_features(bands=4) of the (x, y) grid
        with torch.no_grad():  # start as plain descriptor similarity: identity projections, no positional term
            eye = torch.eye(c).view(c, c, 1, 1)
            self.query.weight.zero_()
            self.query.weight[:, :c] = eye
            self.query.bias.zero_()
            self.key.weight.copy_(eye)
            self.key.bias.zero_()
            self.position.weight.zero_()
            self.position.bias.zero_()
        self.log_temperature = nn.Parameter(torch.tensor(math.log(0.05)))
        self.log_prior = nn.Parameter(torch.tensor(math.log(0.35)))  # prior σ in normalized coordinates
        self.refine = nn.Sequential(conv(2 * c + 5, cfg.coarse_hidden), conv(cfg.coarse_hidden, cfg.coarse_hidden))
        self.delta = zero_conv(cfg.coarse_hidden, 2)

    def forward(self, ref_feat: Tensor, cur_feat: Tensor, init_flow: Tensor) -> Tuple[Tensor, Tensor]:
        """Flow in feature-grid pixels [B, 2, h, w] and the hidden state for the next level."""
        b, c, h, w = cur_feat.shape
        grid = normalized_grid(h, w, cur_feat)
        to_norm = torch.tensor([2.0 / w, 2.0 / h], dtype=cur_feat.dtype, device=cur_feat.device).view(1, 2, 1, 1)
        f_warp = backward_warp(ref_feat, init_flow)
        pe = self.position(fourier_features(grid))
        q = (self.query(torch.cat([cur_feat, f_warp], dim=1)) + pe).view(b, c, h * w)
        k = (self.key(ref_feat) + pe).view(b, c, h * w)
        keys_xy = grid.view(1, 2, h * w)
        centre = (grid + init_flow * to_norm).view(b, 2, h * w, 1)  # where the landmark warp points, per query
        dist2 = ((keys_xy.unsqueeze(2) - centre) ** 2).sum(dim=1)  # [B, hw_q, hw_k]
        prior = torch.exp(self.log_prior)
        logits = torch.bmm(q.transpose(1, 2), k) / torch.exp(self.log_temperature) - dist2 / (2.0 * prior * prior)
        attention = torch.softmax(logits, dim=2)
        # one product aggregates the matched reference features, the soft-argmax position and its second moment
        values = torch.cat([ref_feat.view(b, c, h * w), keys_xy.expand(b, 2, h * w), (keys_xy * keys_xy).sum(1, keepdim=True).expand(b, 1, h * w)], dim=1)
        pooled = torch.bmm(values, attention.transpose(1, 2))  # [B, c + 3, hw_q]
        matched = pooled[:, :c].reshape(b, c, h, w)
        target = pooled[:, c : c + 2]
        spread = (pooled[:, c + 2 :] - (target * target).sum(1, keepdim=True)).reshape(b, 1, h, w)
        flow = (target.reshape(b, 2, h, w) - grid) / to_norm
        hidden = self.refine(torch.cat([cur_feat, matched, flow, init_flow, torch.sqrt(spread.clamp(min=0.0) + 1e-6)], dim=1))
        return flow + self.delta(hidden), hidden


class Encoder(nn.Module):
    """Shared image pyramid: features at 1/2 and 1/4 of the model resolution."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.to_half = nn.Sequential(conv(3, cfg.enc2, 2), conv(cfg.enc2, cfg.enc2))
        self.to_quarter = nn.Sequential(conv(cfg.enc2, cfg.enc4, 2), conv(cfg.enc4, cfg.enc4), conv(cfg.enc4, cfg.enc4))

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        half = self.to_half(image - 0.5)
        return half, self.to_quarter(half)


class Refiner(nn.Module):
    """One coarse-to-fine level: warp the reference features, correlate locally, predict a residual flow.

    Dilated convolutions widen the receptive field at no extra cost; `feedback` turns the hidden state into the
    context of the next pass, so repeated passes (shared weights) refine like the iterations of an optimiser.
    """

    def __init__(self, feat: int, context: int, hidden: int, radius: int, depth: int, extra_out: int = 0) -> None:
        super().__init__()
        self.radius = radius
        dilations = [1, 2, 4, 1, 2, 4][: depth - 1]
        layers = [conv((2 * radius + 1) ** 2 + feat + context + 2, hidden)]
        layers += [conv(hidden, hidden, dilation=d) for d in dilations]
        self.net = nn.Sequential(*layers)
        self.delta = zero_conv(hidden, 2)
        self.feedback = nn.Conv2d(hidden, context, 1)
        self.extra = nn.Conv2d(hidden, extra_out, 1) if extra_out > 0 else None

    def forward(self, cur: Tensor, ref: Tensor, flow: Tensor, context: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """(refined flow, next context, extra outputs) for a flow in this level's pixels."""
        corr = local_correlation(cur, backward_warp(ref, flow), self.radius)
        hidden = self.net(torch.cat([corr, cur, context, flow], dim=1))
        extra = self.extra(hidden) if self.extra is not None else hidden[:, :0]
        return flow + self.delta(hidden), self.feedback(hidden), extra


def image_gradients(image: Tensor) -> Tuple[Tensor, Tensor]:
    """Central differences along x and y, edges replicated."""
    p = F.pad(image, (1, 1, 1, 1), mode="replicate")
    return (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) * 0.5, (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) * 0.5


def box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean over a (2r+1)² window, edges replicated."""
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode="replicate"), 2 * radius + 1, stride=1)


class HornSchunck(nn.Module):
    """Unrolled Horn-Schunck iterations with warping: the parameter-free stage that reaches sub-pixel accuracy.

    Each iteration warps the reference (and its gradients) by the current flow, linearises the photometric error
    around the 3×3 mean of the flow ū, and solves per pixel the 2×2 system of
    ρ·|ref(x + u) − cur(x)|² + α²·|u − ū|², with ρ = 1 / (1 + (|residual| / robust)²) (one IRLS step of a Cauchy
    loss, so occlusions — mouth, eyelids — barely pull). The α² term couples neighbours, which keeps the iteration
    stable (a windowed Lucas-Kanade drifted after ~5 steps) and lets flat regions keep the network's flow.
    Steps are clamped to ±`max_step` px. With `window` > 0 the terms of the 2×2 system are averaged over a
    (2·window+1)² box before the solve (the combined local-global method): the data term of a flat pixel borrows the
    structure of its neighbourhood instead of fitting noise. With `flat` > 0 the window is edge-aware: a pixel takes
    the window's terms in the share flat / (flat + ρ|∇I|²) and its own in the rest, so a motion boundary along an edge
    is not smeared across the window. Only elementwise ops, pooling and grid_sample: it exports to ONNX as is.
    """

    def __init__(self, iterations: int, alpha2: float = 3e-4, robust: float = 0.05, max_step: float = 0.5, window: int = 0, flat: float = 0.0) -> None:
        super().__init__()
        self.iterations = iterations
        self.alpha2 = alpha2
        self.robust = robust
        self.max_step = max_step
        self.window = window
        self.flat = flat

    def forward(self, ref: Tensor, cur: Tensor, flow: Tensor) -> Tensor:
        c = ref.shape[1]
        gx, gy = image_gradients(ref)
        stack = torch.cat([ref, gx, gy], dim=1)
        for _ in range(self.iterations):
            warped = backward_warp(stack, flow)
            wx, wy = warped[:, c : 2 * c], warped[:, 2 * c :]
            diff = warped[:, :c] - cur
            mean = box_mean(flow, 1)
            shift = mean - flow
            predicted = diff + wx * shift[:, 0:1] + wy * shift[:, 1:2]  # residual linearised at ū
            rho = 1.0 / (1.0 + (diff.abs().mean(1, keepdim=True) / self.robust) ** 2)
            a11 = (rho * wx * wx).sum(1, keepdim=True) + self.alpha2
            a22 = (rho * wy * wy).sum(1, keepdim=True) + self.alpha2
            a12 = (rho * wx * wy).sum(1, keepdim=True)
            b1 = (rho * wx * predicted).sum(1, keepdim=True)
            b2 = (rho * wy * predicted).sum(1, keepdim=True)
            if self.window > 0:
                own = torch.cat([a11, a22, a12, b1, b2], dim=1)
                terms = box_mean(own, self.window)
                if self.flat > 0:  # edge-aware: a pixel with structure of its own keeps its own system
                    share = self.flat / (self.flat + a11 + a22 - 2 * self.alpha2)
                    terms = share * terms + (1 - share) * own
                a11, a22, a12, b1, b2 = terms[:, 0:1], terms[:, 1:2], terms[:, 2:3], terms[:, 3:4], terms[:, 4:5]
            det = a11 * a22 - a12 * a12
            target = mean + torch.cat([(a12 * b2 - a22 * b1) / det, (a12 * b1 - a11 * b2) / det], dim=1)
            flow = flow + (target - flow).clamp(-self.max_step, self.max_step)
        return flow


class PPCE(nn.Module):
    """The correspondence network; `forward` returns every level's flow for the multi-scale loss.

    The learned stages run at 1/`internal_scale` of the model resolution (the working size for the cpu preset), the
    Horn-Schunck stage climbs back to full resolution, where the fine detail that decides the reconstruction is.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.width % 8 or cfg.height % 8:
            raise ValueError(f"model resolution {cfg.width}×{cfg.height} must be multiples of 8")
        if cfg.internal_scale not in (1, 2):
            raise ValueError("internal_scale must be 1 or 2")
        self.cfg = cfg
        self.coarse = CoarseMatcher(cfg)
        self.encoder = Encoder(cfg)
        self.level4 = Refiner(cfg.enc4, cfg.context4, cfg.hidden4, cfg.radius4, cfg.depth4)
        self.to_level2 = nn.Conv2d(cfg.context4, cfg.context2, 1)
        self.level2 = Refiner(cfg.enc2, cfg.context2, cfg.hidden2, cfg.radius2, cfg.depth2)
        hs = {"alpha2": cfg.hs_alpha2, "robust": cfg.hs_robust}
        self.hs_half = HornSchunck(cfg.hs_iters_half, window=cfg.hs_window_half, **hs)
        self.hs_internal = HornSchunck(cfg.hs_iters_internal, window=cfg.hs_window_internal, flat=cfg.hs_flat_internal, **hs)
        self.hs_full = HornSchunck(cfg.hs_iters_full, window=cfg.hs_window_full, **hs)
        self.sigma = nn.Sequential(conv(7, cfg.sigma_hidden), nn.Conv2d(cfg.sigma_hidden, 1, 3, padding=1))

    def forward(self, ref_image: Tensor, cur_image: Tensor, ref_feat: Tensor, cur_feat: Tensor, init_flow: Tensor) -> Dict[str, Tensor]:
        cfg = self.cfg
        fh, fw = ref_feat.shape[-2], ref_feat.shape[-1]
        flow8, hidden = self.coarse(ref_feat, cur_feat, resize_flow(init_flow, fh, fw))
        ref_in, cur_in = ref_image, cur_image
        if cfg.internal_scale > 1:
            ref_in, cur_in = F.avg_pool2d(ref_image, cfg.internal_scale), F.avg_pool2d(cur_image, cfg.internal_scale)
        ref2, ref4 = self.encoder(ref_in)
        cur2, cur4 = self.encoder(cur_in)
        h4, w4 = cur4.shape[-2], cur4.shape[-1]
        flow4 = resize_flow(flow8, h4, w4)
        context = F.interpolate(hidden[:, : cfg.context4], size=(h4, w4), mode="bilinear", align_corners=False)
        for _ in range(cfg.iters4):
            flow4, context, _ = self.level4(cur4, ref4, flow4, context)
        h2, w2 = cur2.shape[-2], cur2.shape[-1]
        flow2 = resize_flow(flow4, h2, w2)
        context = F.interpolate(self.to_level2(context), size=(h2, w2), mode="bilinear", align_corners=False)
        flow2, _, _ = self.level2(cur2, ref2, flow2, context)
        # Horn-Schunck on the detached estimate: a fixed optimiser, trained around rather than through (its 2×2
        # solves amplify gradients where the image is flat; training through a first Lucas-Kanade version diverged)
        flow = self.hs_half(F.avg_pool2d(ref_in, 2), F.avg_pool2d(cur_in, 2), flow2.detach())
        flow = self.hs_internal(ref_in, cur_in, resize_flow(flow, ref_in.shape[-2], ref_in.shape[-1]))
        if cfg.internal_scale > 1:
            flow = self.hs_full(ref_image, cur_image, resize_flow(flow, cfg.height, cfg.width))
        warped = backward_warp(ref_image, flow)
        residual = (cur_image - warped).abs().mean(dim=1, keepdim=True)
        evidence = torch.cat([cur_image - 0.5, warped - 0.5, residual], dim=1)
        if cfg.internal_scale > 1:  # σ is smooth: predict it at the internal resolution, 4× cheaper
            evidence = F.avg_pool2d(evidence, cfg.internal_scale)
        raw = F.interpolate(self.sigma(evidence), size=(cfg.height, cfg.width), mode="bilinear", align_corners=False)
        log_sigma = LOG_SIGMA_MIN + (LOG_SIGMA_MAX - LOG_SIGMA_MIN) * torch.sigmoid(raw)
        flow_internal = resize_flow(flow2, ref_in.shape[-2], ref_in.shape[-1])
        return {"flow": flow, "log_sigma": log_sigma, "flow_internal": flow_internal, "flow2": flow2, "flow4": flow4, "flow8": flow8, "residual": residual}


class ExportWrapper(nn.Module):
    """The deployed graph: only `flow` and `log_sigma` (names in io_spec.OUTPUT_NAMES)."""

    def __init__(self, model: PPCE) -> None:
        super().__init__()
        self.model = model

    def forward(self, ref_image: Tensor, cur_image: Tensor, ref_feat: Tensor, cur_feat: Tensor, init_flow: Tensor) -> Tuple[Tensor, Tensor]:
        out = self.model(ref_image, cur_image, ref_feat, cur_feat, init_flow)
        return out["flow"], out["log_sigma"]
