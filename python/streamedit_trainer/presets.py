"""Training presets: model resolution, schedule and network sizes for each kind of machine."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict

from .losses import LossWeights


@dataclass(frozen=True)
class Preset:
    name: str
    side: int  # longer side of the model resolution (io_spec.model_size)
    iterations: int
    check_every: int
    progress_every: int
    lr: float = 1e-3
    lr_final: float = 0.05  # cosine decay to lr·lr_final at the last iteration
    warmup: int = 100
    tau: float = 0.08  # σ above this (0..1 intensities) counts a pixel as uncertain in the scores
    seed: int = 0
    batch: int = 1  # frame pairs per Adam step (a GPU idles on one 512² pair: gpu-bench measures it)
    model: Dict[str, int] = field(default_factory=dict)  # ModelConfig overrides
    weights: LossWeights = LossWeights()


PRESETS: Dict[str, Preset] = {
    # 2 CPU cores: model resolution = the working size (512), learned stages at 256
    "cpu": Preset(name="cpu", side=512, iterations=2000, check_every=500, progress_every=20),
    # the paper's schedule (40000 iterations, ARR checks every 10000); meant for a GPU
    "paper": Preset(name="paper", side=512, iterations=40000, check_every=10000, progress_every=100),
    # tests: 64² and a few iterations of a narrow network
    "tiny": Preset(
        name="tiny",
        side=64,
        iterations=20,
        check_every=10,
        progress_every=1,
        warmup=2,
        model={"coarse_hidden": 16, "enc2": 8, "enc4": 8, "hidden4": 16, "hidden2": 8, "radius4": 1, "radius2": 1, "context4": 8, "context2": 4, "sigma_hidden": 4},
    ),
}
