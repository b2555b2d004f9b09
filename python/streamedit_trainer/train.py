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
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, write_atomic
from .data import TrainingData, read_training_data
from .io_spec import model_size
from .losses import total_loss
from .model import PPCE, ModelConfig
from .presets import PRESETS, Preset
from .samples import PairSource

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
def score_frames(model: PPCE, source: PairSource, tau: float) -> List[Dict[str, Any]]:
    """Each frame's uncertainty against its window's reference: mean σ, the fraction of person pixels with σ > τ,
    and the mean photometric residual of the final flow (all in 0..1 intensities)."""
    model.eval()
    scores = []
    for t in range(source.data.count):
        out = model(**source.pair(t))
        sigma = torch.exp(out["log_sigma"])
        mask = source.mask(t) > 0.5
        person = int(mask.sum().item())
        scores.append({
            "frame": t,
            "reference": source.data.reference_frame(t),
            "meanSigma": float(sigma.mean().item()),
            "uncertainFraction": float(((sigma > tau) & mask).sum().item() / person) if person else 0.0,
            "residual": float(out["residual"].mean().item()),
        })
    model.train()
    return scores


def write_scores(out_dir: str, iteration: int, tau: float, scores: List[Dict[str, Any]]) -> str:
    path = os.path.join(out_dir, f"scores-{iteration:08d}.json")
    body = json.dumps({"iteration": iteration, "tau": tau, "frames": scores}).encode()
    write_atomic(path, lambda f: f.write(body))
    return path


class Trainer:
    """One training run: model, optimiser, sampling RNG and the iteration counter, all restored from the newest
    valid checkpoint in the output directory when there is one."""

    def __init__(self, options: TrainOptions) -> None:
        self.options = options
        self.preset = options.preset
        device = pick_device()
        data = read_training_data(options.data_dir)
        self.cfg = build_config(data, self.preset)
        self.source = PairSource(data, (self.cfg.width, self.cfg.height), device)
        torch.manual_seed(self.preset.seed)
        random.seed(self.preset.seed)
        self.rng = np.random.default_rng(self.preset.seed)
        self.model = PPCE(self.cfg).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.preset.lr)
        self.iteration = 0
        self.bad_steps = 0
        os.makedirs(options.out_dir, exist_ok=True)
        self._resume(device)

    def _resume(self, device: torch.device) -> None:
        path = latest_checkpoint(self.options.out_dir)
        if path is None:
            return
        state = load_checkpoint(path, str(device))
        # The Horn-Schunck settings are inference settings (no weights): a checkpoint resumes across a change of them
        if ModelConfig.from_checkpoint(state["model_config"]).architecture() != self.cfg.architecture():
            raise TrainingError(f"{path} was trained with another model configuration; use a new --out directory.")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        restore_rng(self.rng, state["rng"])
        self.iteration = int(state["iteration"])
        emit({"type": "resumed", "iteration": self.iteration, "checkpoint": path})

    def step(self) -> Dict[str, float]:
        """One Adam step on `preset.batch` random frames (among the first `train_count`), each against its window's
        reference (the loss is the batch mean); returns the loss terms."""
        total = self.preset.iterations
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.preset, self.iteration, total)
        count = self.source.data.train_count
        if self.preset.batch == 1:  # one draw per step, as before batching: older checkpoints resume identically
            inputs = self.source.pair(int(self.rng.integers(count)))
        else:
            inputs = self.source.pairs([int(t) for t in self.rng.integers(count, size=self.preset.batch)])
        out = self.model(**inputs)
        terms = total_loss(out, inputs["ref_image"], inputs["cur_image"], self.preset.weights)
        self.optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(terms["loss"]):
            self.bad_steps = 0
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
        else:  # skip the step; a run that keeps producing them has diverged
            self.bad_steps += 1
            if self.bad_steps >= MAX_BAD_STEPS:
                raise TrainingError(f"training diverged at iteration {self.iteration} (non-finite loss {MAX_BAD_STEPS} times in a row).")
        self.iteration += 1
        stats = {k: float(v.item()) for k, v in terms.items()}
        stats["mean_sigma"] = float(torch.exp(out["log_sigma"]).mean().item())
        return stats

    def check(self) -> str:
        """Scores every frame, writes scores-ITER.json and a checkpoint; emits the check event; returns the path."""
        scores = score_frames(self.model, self.source, self.preset.tau)
        scores_path = write_scores(self.options.out_dir, self.iteration, self.preset.tau, scores)
        ckpt = save_checkpoint(self.options.out_dir, self.iteration, {
            "format": 1,
            "iteration": self.iteration,
            "preset": self.preset.name,
            "model_config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_state(self.rng),
        })
        emit({"type": "check", "iteration": self.iteration, "total": self.preset.iterations, "scores": scores_path,
              "checkpoint": ckpt, "meanSigma": float(np.mean([s["meanSigma"] for s in scores])),
              "uncertainFraction": float(np.mean([s["uncertainFraction"] for s in scores]))})
        return ckpt


def train(options: TrainOptions) -> int:
    """Runs (or resumes) training; returns the iteration reached. Emits progress/check/stopped/done events."""
    configure_threads()
    trainer = Trainer(options)
    preset, total = options.preset, options.preset.iterations
    window: Dict[str, float] = {}
    steps, tick = 0, time.time()
    while trainer.iteration < total:
        for key, value in trainer.step().items():
            window[key] = window.get(key, 0.0) + value
        steps += 1
        it = trainer.iteration
        if it % preset.progress_every == 0 or it == total:
            now = time.time()
            mean = {k: window[k] / steps for k in ("loss", "l_rec", "l_final", "l_unc", "mean_sigma")}
            emit({"type": "progress", "iteration": it, "total": total, **mean, "iter_per_s": steps / max(now - tick, 1e-9)})
            window, steps, tick = {}, 0, now
        if it % preset.check_every == 0 or it == total:
            checkpoint = trainer.check()
            if options.stop_at_check and it < total:
                emit({"type": "stopped", "iteration": it, "checkpoint": checkpoint})
                return it
            tick = time.time()  # scoring time is not training speed
    emit({"type": "done", "iteration": trainer.iteration, "checkpoint": latest_checkpoint(options.out_dir)})
    return trainer.iteration


def preset_with(name: str, iterations: Optional[int], check_every: Optional[int], batch: Optional[int] = None) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}.")
    preset = PRESETS[name]
    if iterations is not None:
        preset = replace(preset, iterations=iterations)
    if check_every is not None:
        preset = replace(preset, check_every=check_every)
    if batch is not None:
        if batch < 1:
            raise ValueError(f"--batch must be at least 1 (got {batch}).")
        preset = replace(preset, batch=batch)
    return preset
