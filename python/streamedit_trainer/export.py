"""ONNX export of a checkpoint (fixed input size, opset 16, names from io_spec) and the Python forward used by the
parity tests."""
from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .checkpoint import load_checkpoint
from .io_spec import INPUT_NAMES, ONNX_OPSET, OUTPUT_NAMES, input_shapes
from .model import PPCE, ExportWrapper, ModelConfig
from .warp import area_resize, backward_warp, resize_flow


def load_model(checkpoint: str, hs_iterations: Optional[Tuple[int, int, int]] = None) -> PPCE:
    """The checkpoint's network in eval mode; `hs_iterations` (half, internal, full) overrides the parameter-free
    Horn-Schunck stage (fewer iterations: faster inference, lower accuracy)."""
    state = load_checkpoint(checkpoint)
    overrides = {} if hs_iterations is None else dict(hs_iters_half=hs_iterations[0], hs_iters_internal=hs_iterations[1], hs_iters_full=hs_iterations[2])
    model = PPCE(ModelConfig.from_checkpoint(state["model_config"], **overrides))
    model.load_state_dict(state["model"])
    return model.eval()


def shapes_of(model: PPCE) -> Dict[str, Tuple[int, ...]]:
    c = model.cfg
    return input_shapes(c.width, c.height, c.feat_channels, c.feat_width, c.feat_height)


def export_onnx(checkpoint: str, out: str, hs_iterations: Optional[Tuple[int, int, int]] = None) -> Dict[str, Tuple[int, ...]]:
    """Writes `out` (via a temp file + rename) and returns the input shapes it was traced with."""
    model = load_model(checkpoint, hs_iterations)
    shapes = shapes_of(model)
    dummy = tuple(torch.rand(*shapes[name]) for name in INPUT_NAMES)
    tmp = f"{out}.tmp-{os.getpid()}"
    try:
        with torch.no_grad():
            torch.onnx.export(ExportWrapper(model), dummy, tmp, opset_version=ONNX_OPSET, input_names=list(INPUT_NAMES),
                              output_names=list(OUTPUT_NAMES), do_constant_folding=True)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return shapes


@torch.no_grad()
def forward_files(checkpoint: str, inputs_dir: str, out_dir: str, hs_iterations: Optional[Tuple[int, int, int]] = None) -> None:
    """Reads `<name>.f32` for every input (raw float32, shapes from the checkpoint), writes flow.f32 and
    log_sigma.f32: the PyTorch side of the ONNX parity test."""
    model = load_model(checkpoint, hs_iterations)
    shapes = shapes_of(model)
    tensors: Dict[str, Tensor] = {}
    for name in INPUT_NAMES:
        array = np.fromfile(os.path.join(inputs_dir, f"{name}.f32"), dtype=np.float32)
        tensors[name] = torch.from_numpy(array).view(*shapes[name])
    out = model(**tensors)
    os.makedirs(out_dir, exist_ok=True)
    for name in OUTPUT_NAMES:
        out[name].numpy().astype(np.float32).tofile(os.path.join(out_dir, f"{name}.f32"))


def parity_op(op: str, src: str, flow: Optional[str], out: str, channels: int, width: int, height: int, out_width: int, out_height: int) -> None:
    """Applies one warp.py operation to raw planar float32 files, for the TypeScript parity tests:
    warp (`src` [C, H, W] by `flow` [2, H, W]), area (resize `src` to out size), resize-flow (`src` is a flow)."""
    def read(path: str, c: int) -> Tensor:
        return torch.from_numpy(np.fromfile(path, dtype=np.float32)).view(1, c, height, width)

    if op == "warp":
        if flow is None:
            raise ValueError("parity --op warp needs --flow.")
        result = backward_warp(read(src, channels), read(flow, 2))
    elif op == "area":
        result = area_resize(read(src, channels), out_height, out_width)
    elif op == "resize-flow":
        result = resize_flow(read(src, 2), out_height, out_width)
    else:
        raise ValueError(f"unknown parity op {op!r}.")
    result.numpy().astype(np.float32).tofile(out)
