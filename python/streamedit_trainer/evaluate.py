"""The reconstruction protocol (shared data README) for a trained checkpoint: warp the reference frame at working
size by the predicted flow upsampled to working size (TS resizeFlow + backwardWarpRgb) and measure PSNR per frame."""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np
import torch

from .data import TrainingData, read_training_data
from .export import load_model
from .model import PPCE
from .samples import PairSource
from .warp import backward_warp, resize_flow


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(255.0 * 255.0 / mse)


def reconstruct_psnr(checkpoint: str, data_dir: str, reference: int = 0) -> Dict[str, object]:
    """Mean PSNR over every frame except `reference`, each reconstructed from `reference` only."""
    return model_psnr(load_model(checkpoint), read_training_data(data_dir), torch.device("cpu"), reference)


@torch.no_grad()
def model_psnr(model: PPCE, data: TrainingData, device: torch.device, reference: int = 0) -> Dict[str, object]:
    """`reconstruct_psnr` of a model already on `device` (gpu-bench evaluates on the GPU it trains on); the warp at
    working size and the PSNR run on the CPU, as the protocol's TS side does. Restores the model's train/eval mode."""
    was_training = model.training
    model.eval()
    source = PairSource(data, (model.cfg.width, model.cfg.height), device)
    h, w = data.frames.shape[1], data.frames.shape[2]
    ref_full = torch.from_numpy(np.array(data.frames[reference])).permute(2, 0, 1).unsqueeze(0).float()
    ref_in, ref_feat = source.image(reference), source.features(reference)
    values: List[float] = []
    for t in range(data.count):
        if t == reference:
            continue
        out = model(ref_in, source.image(t), ref_feat, source.features(t), source.init_flow(t))
        flow = resize_flow(out["flow"].float().cpu(), h, w)
        rec = backward_warp(ref_full, flow).round().clamp(0, 255)[0].permute(1, 2, 0).numpy()
        values.append(psnr(rec, data.frames[t]))
    model.train(was_training)
    return {"psnr": float(np.mean(values)), "frames": len(values), "perFrame": values}
