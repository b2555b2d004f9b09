"""Builds model inputs for a (current, reference) frame pair from the data directory, at model resolution."""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .data import TrainingData
from .warp import area_resize, resize_flow


class PairSource:
    """Turns frame indices into the model's five input tensors (io_spec.py) plus the person mask."""

    def __init__(self, data: TrainingData, size: Tuple[int, int], device: torch.device) -> None:
        self.data = data
        self.width, self.height = size
        self.device = device

    def image(self, t: int) -> Tensor:
        """[1, 3, Hm, Wm] frame t in 0..1, area-resized from the working size."""
        rgb = torch.from_numpy(np.array(self.data.frames[t])).to(self.device)
        return area_resize(rgb.permute(2, 0, 1).unsqueeze(0).float() / 255.0, self.height, self.width)

    def features(self, t: int) -> Tensor:
        return torch.from_numpy(np.array(self.data.features[t], dtype=np.float32)).unsqueeze(0).to(self.device)

    def init_flow(self, t: int) -> Tensor:
        """Landmark-warp initialisation for frame t → its reference, rescaled if TS wrote another size."""
        if self.data.init_flow is None:
            return torch.zeros(1, 2, self.height, self.width, device=self.device)
        flow = torch.from_numpy(np.array(self.data.init_flow[t], dtype=np.float32)).unsqueeze(0).to(self.device)
        return resize_flow(flow, self.height, self.width)

    def mask(self, t: int) -> Tensor:
        """[1, 1, Hm, Wm] person mask in 0..1 (all ones when the directory has none)."""
        if self.data.masks is None:
            return torch.ones(1, 1, self.height, self.width, device=self.device)
        m = torch.from_numpy(np.array(self.data.masks[t])).to(self.device).float() / 255.0
        return area_resize(m.view(1, 1, *m.shape), self.height, self.width)

    def pair(self, t: int) -> Dict[str, Tensor]:
        """Inputs for frame t against its window's reference."""
        r = self.data.reference_frame(t)
        return {
            "ref_image": self.image(r),
            "cur_image": self.image(t),
            "ref_feat": self.features(r),
            "cur_feat": self.features(t),
            "init_flow": self.init_flow(t),
        }

    def pairs(self, frames: Sequence[int]) -> Dict[str, Tensor]:
        """Inputs for several frames against their references, stacked along the batch dimension."""
        if len(frames) == 1:
            return self.pair(frames[0])
        each = [self.pair(t) for t in frames]
        return {name: torch.cat([p[name] for p in each], dim=0) for name in each[0]}
