"""Readers of the training data directory (contract in io_spec.py) and a writer used only by tests."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

import numpy as np


class DataError(ValueError):
    """The data directory does not follow the contract; the message names the file and what is wrong."""


@dataclass
class TrainingData:
    frames: np.ndarray  # [N, H, W, 3] uint8 (memmap)
    features: np.ndarray  # [N, C, h, w] float32 (memmap)
    masks: Optional[np.ndarray]  # [N, H, W] uint8 (memmap) or None = all person
    references: List[int]  # frame index of each window's reference
    frame_reference: List[int]  # per frame: index into `references`
    init_flow: Optional[np.ndarray]  # [N, 2, Hm, Wm] float16 (memmap) or None = zeros
    init_size: Optional[tuple]  # (Wm, Hm) of init_flow
    fps: float
    train_count: int  # frames the trainer may sample: the first `trainFrames` (the streaming split), else all

    @property
    def count(self) -> int:
        return int(self.frames.shape[0])

    def reference_frame(self, t: int) -> int:
        """The frame index of frame t's window reference."""
        return self.references[self.frame_reference[t]]


def _json(path: str) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError as e:
        raise DataError(f"{path} is missing; write the training data directory first.") from e
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON ({e.msg}).") from e


def _memmap(path: str, dtype: Any, shape: Sequence[int]) -> np.ndarray:
    expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
    size = os.path.getsize(path) if os.path.exists(path) else -1
    if size != expected:
        raise DataError(f"{path} has {size} bytes, expected {expected} for {np.dtype(dtype).name} {list(shape)}.")
    return np.memmap(path, dtype=dtype, mode="r", shape=tuple(shape))


def read_training_data(directory: str) -> TrainingData:
    meta = _json(os.path.join(directory, "frames.json"))
    n, h, w = int(meta["count"]), int(meta["height"]), int(meta["width"])
    frames = _memmap(os.path.join(directory, "frames.u8"), np.uint8, (n, h, w, 3))
    fmeta = _json(os.path.join(directory, "features.json"))
    if int(fmeta["count"]) != n:
        raise DataError(f"features.json counts {fmeta['count']} frames but frames.json {n}.")
    features = _memmap(os.path.join(directory, "features.f32"), np.float32, (n, int(fmeta["channels"]), int(fmeta["height"]), int(fmeta["width"])))
    mask_path = os.path.join(directory, "masks.u8")
    masks = _memmap(mask_path, np.uint8, (n, h, w)) if os.path.exists(mask_path) else None
    refs = _json(os.path.join(directory, "references.json"))
    references = [int(r) for r in refs["references"]]
    frame_reference = [int(r) for r in refs["frameReference"]]
    if len(frame_reference) != n or not references:
        raise DataError(f"references.json needs one frameReference per frame ({n}) and at least one reference.")
    if any(r < 0 or r >= len(references) for r in frame_reference) or any(r < 0 or r >= n for r in references):
        raise DataError("references.json points outside its references or outside the frames.")
    train_count = int(refs.get("trainFrames", n))
    if not 1 <= train_count <= n:
        raise DataError(f"references.json has trainFrames {train_count}; it must be between 1 and the frame count ({n}).")
    init_flow, init_size = None, None
    if os.path.exists(os.path.join(directory, "init_flow.json")):
        imeta = _json(os.path.join(directory, "init_flow.json"))
        init_size = (int(imeta["width"]), int(imeta["height"]))
        init_flow = _memmap(os.path.join(directory, "init_flow.f16"), np.float16, (n, 2, init_size[1], init_size[0]))
    fps = meta.get("fps") or {"num": 25, "den": 1}
    return TrainingData(frames, features, masks, references, frame_reference, init_flow, init_size, fps["num"] / fps["den"], train_count)


def _write_json(path: str, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


def write_training_data(
    directory: str,
    frames: np.ndarray,
    features: np.ndarray,
    references: List[int],
    frame_reference: List[int],
    masks: Optional[np.ndarray] = None,
    init_flow: Optional[np.ndarray] = None,
    backbone: str = "synthetic",
    train_frames: Optional[int] = None,
) -> None:
    """Writes a data directory in the contract's layout (tests only; the product's writer is TypeScript)."""
    os.makedirs(directory, exist_ok=True)
    n, h, w, _ = frames.shape
    frames.astype(np.uint8).tofile(os.path.join(directory, "frames.u8"))
    _write_json(os.path.join(directory, "frames.json"), {"count": n, "width": w, "height": h, "fps": {"num": 25, "den": 1}})
    features.astype(np.float32).tofile(os.path.join(directory, "features.f32"))
    _, c, fh, fw = features.shape
    _write_json(os.path.join(directory, "features.json"), {"count": n, "channels": c, "width": fw, "height": fh, "backbone": backbone})
    split = {} if train_frames is None else {"trainFrames": train_frames}
    _write_json(os.path.join(directory, "references.json"), {"references": references, "frameReference": frame_reference, **split})
    if masks is not None:
        masks.astype(np.uint8).tofile(os.path.join(directory, "masks.u8"))
    if init_flow is not None:
        init_flow.astype(np.float16).tofile(os.path.join(directory, "init_flow.f16"))
        _write_json(os.path.join(directory, "init_flow.json"), {"width": int(init_flow.shape[3]), "height": int(init_flow.shape[2])})
