"""The training process: samples (frame, window reference) pairs, minimises losses.total_loss with Adam, scores every
frame's uncertainty at each check and checkpoints so that a killed run resumes to the same result."""
from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, Optional

import numpy as np
import torch

from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, write_atomic
from .data import TrainingData, read_training_data
from .io_spec import model_size
from .losses import total_loss
from .model import PPCE, ModelConfig
from .presets import PRESETS, Preset
from .samples import PairSource
from .warp import backward_warp

MAX_BAD_STEPS = 20  # consecutive non-finite losses before the run is declared diverged


class TrainingError(RuntimeError):
    """Training cannot go on (diverged, or the checkpoint in --out belongs to another configuration)."""


@dataclass(frozen=True)
class TrainOptions:
    data_dir: str
    out_dir: str
    preset: Preset
    stop_at_check: bool = False


def emit(event: Dict[str, Any]) -> None:
    """One JSON line per event on stdout (the TypeScript driver parses them); logs go to stderr."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure_threads() -> None:
    """torch intra-op threads from STREAMEDIT_TORCH_THREADS (default: every core); BLAS is pinned by the caller."""
    threads = int(os.environ.get("STREAMEDIT_TORCH_THREADS", "0") or 0) or (os.cpu_count() or 1)
    torch.set_num_threads(threads)


def learning_rate(preset: Preset, iteration: int, total: int) -> float:
    """Linear warm-up, then cosine decay to lr·lr_final at `total`."""
    if iteration < preset.warmup:
        return preset.lr * (iteration + 1) / preset.warmup
    progress = min(1.0, (iteration - preset.warmup) / max(1, total - preset.warmup))
    return preset.lr * (preset.lr_final + (1.0 - preset.lr_final) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def build_config(data: TrainingData, preset: Preset) -> ModelConfig:
    width, height = model_size(data.frames.shape[2], data.frames.shape[1], preset.side)
    _, c, fh, fw = data.features.shape
    return ModelConfig(width=width, height=height, feat_channels=c, feat_width=fw, feat_height=fh, **preset.model)


def rng_state(rng: np.random.Generator) -> Dict[str, Any]:
    state: Dict[str, Any] = {"numpy": rng.bit_generator.state, "python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(rng: np.random.Generator, state: Dict[str, Any]) -> None:
    rng.bit_generator.state = state["numpy"]
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@torch.no_grad()
def score_frames(model: PPCE, source: PairSource, tau: float) -> list:
    """Each frame's uncertainty against its window's reference: mean σ, the fraction of person pixels with σ > τ,
    and the mean photometric residual (all in 0..1 intensities)."""
    model.eval()
    scores = []
    for t in range(source.data.count):
        inputs = source.pair(t)
        out = model(**inputs)
        sigma = torch.exp(out["log_sigma"])
        mask = source.mask(t) > 0.5
        person = int(mask.sum().item())
        uncertain = float(((sigma > tau) & mask).sum().item() / person) if person else 0.0
        residual = (inputs["cur_image"] - backward_warp(inputs["ref_image"], out["flow"])).abs().mean()
        scores.append({
            "frame": t,
            "reference": source.data.reference_frame(t),
            "meanSigma": float(sigma.mean().item()),
            "uncertainFraction": uncertain,
            "residual": float(residual.item()),
        })
    model.train()
    return scores


def write_scores(out_dir: str, iteration: int, tau: float, scores: list) -> str:
    path = os.path.join(out_dir, f"scores-{iteration:08d}.json")
    body = json.dumps({"iteration": iteration, "tau": tau, "frames": scores}).encode()
    write_atomic(path, lambda f: f.write(body))
    return path


def train(options: TrainOptions) -> int:
    """Runs (or resumes) training; returns the iteration reached. Emits progress/check/stopped/done events."""
    configure_threads()
    device = pick_device()
    preset = options.preset
    data = read_training_data(options.data_dir)
    cfg = build_config(data, preset)
    os.makedirs(options.out_dir, exist_ok=True)

    torch.manual_seed(preset.seed)
    random.seed(preset.seed)
    rng = np.random.default_rng(preset.seed)
    model = PPCE(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.lr)
    iteration = 0
    resume = latest_checkpoint(options.out_dir)
    if resume is not None:
        state = load_checkpoint(resume, str(device))
        if state["model_config"] != cfg.to_dict():
            raise TrainingError(f"{resume} was trained with another model configuration; use a new --out directory.")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        restore_rng(rng, state["rng"])
        iteration = int(state["iteration"])
        emit({"type": "resumed", "iteration": iteration, "checkpoint": resume})

    total = preset.iterations
    source = PairSource(data, (cfg.width, cfg.height), device)
    window: Dict[str, float] = {}
    window_steps, bad_steps, tick = 0, 0, time.time()

    def checkpoint_state() -> Dict[str, Any]:
        return {
            "format": 1,
            "iteration": iteration,
            "preset": preset.name,
            "model_config": cfg.to_dict(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": rng_state(rng),
        }

    while iteration < total:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(preset, iteration, total)
        t = int(rng.integers(data.count))
        inputs = source.pair(t)
        out = model(**inputs)
        terms = total_loss(out, inputs["ref_image"], inputs["cur_image"], preset.weights)
        optimizer.zero_grad(set_to_none=True)
        if not torch.isfinite(terms["loss"]):
            bad_steps += 1
            if bad_steps >= MAX_BAD_STEPS:
                raise TrainingError(f"training diverged at iteration {iteration} (non-finite loss {MAX_BAD_STEPS} times in a row).")
        else:
            bad_steps = 0
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        iteration += 1

        stats = {k: float(v.item()) for k, v in terms.items()}
        stats["mean_sigma"] = float(torch.exp(out["log_sigma"]).mean().item())
        for k, v in stats.items():
            window[k] = window.get(k, 0.0) + v
        window_steps += 1
        if iteration % preset.progress_every == 0 or iteration == total:
            now = time.time()
            emit({"type": "progress", "iteration": iteration, "total": total, "loss": window["loss"] / window_steps,
                  "l_rec": window["l_rec"] / window_steps, "l_final": window["l_final"] / window_steps, "l_unc": window["l_unc"] / window_steps,
                  "mean_sigma": window["mean_sigma"] / window_steps, "iter_per_s": window_steps / max(now - tick, 1e-9)})
            window, window_steps, tick = {}, 0, now

        if iteration % preset.check_every == 0 or iteration == total:
            scores = score_frames(model, source, preset.tau)
            scores_path = write_scores(options.out_dir, iteration, preset.tau, scores)
            ckpt = save_checkpoint(options.out_dir, iteration, checkpoint_state())
            emit({"type": "check", "iteration": iteration, "total": total, "scores": scores_path, "checkpoint": ckpt,
                  "meanSigma": float(np.mean([s["meanSigma"] for s in scores])),
                  "uncertainFraction": float(np.mean([s["uncertainFraction"] for s in scores]))})
            if options.stop_at_check and iteration < total:
                emit({"type": "stopped", "iteration": iteration, "checkpoint": ckpt})
                return iteration
            tick = time.time()  # scoring time is not training speed

    final = latest_checkpoint(options.out_dir)
    emit({"type": "done", "iteration": iteration, "checkpoint": final})
    return iteration


def preset_with(name: str, iterations: Optional[int], check_every: Optional[int]) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}.")
    preset = PRESETS[name]
    if iterations is not None:
        preset = replace(preset, iterations=iterations)
    if check_every is not None:
        preset = replace(preset, check_every=check_every)
    return preset
