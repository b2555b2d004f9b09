"""A small synthetic clip for tests: a textured pattern that translates a little each frame, with random features."""
from __future__ import annotations

from typing import Optional

import numpy as np

from streamedit_trainer.data import write_training_data


def moving_pattern(count: int = 6, size: int = 64, seed: int = 0) -> np.ndarray:
    """[N, size, size, 3] uint8: smooth random texture shifted by (t, t/2) pixels in frame t."""
    rng = np.random.default_rng(seed)
    base = rng.random((size // 4 + 4, size // 4 + 4, 3))
    big = np.kron(base, np.ones((4, 4, 1)))  # blocky texture, upsampled
    frames = []
    for t in range(count):
        dx, dy = t, t // 2
        frames.append(big[dy : dy + size, dx : dx + size])
    return (np.stack(frames) * 255).astype(np.uint8)


def write_synthetic(directory: str, count: int = 6, size: int = 64, channels: int = 8, grid: int = 8, seed: int = 0,
                    train_frames: Optional[int] = None) -> None:
    rng = np.random.default_rng(seed + 1)
    feats = rng.standard_normal((count, channels, grid, grid)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    masks = np.zeros((count, size, size), np.uint8)
    masks[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 255
    write_training_data(directory, moving_pattern(count, size, seed), feats, [0], [0] * count, masks=masks,
                        init_flow=np.zeros((count, 2, size, size), np.float16), train_frames=train_frames)
