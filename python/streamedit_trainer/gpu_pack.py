"""The compact pack of a training data directory (io_spec.py) that `gpu-bench` rebuilds on a machine with only
PyTorch + numpy. `streamedit bench gpu --pack DIR` analyses a clip, writes the directory and calls `gpu-pack`.

Pack layout: `manifest.json` (format `streamedit-gpu-pack/1`) holds the directory's small JSON files inline and one
entry per array file: `pack` (an xz file, Python's stdlib lzma), `store` (dtype of the packed values: uint8, or
float16 for features and init flows), `dtype` (dtype of the rebuilt file), `shape` (stored shape), `delta` (axes
along which the integer view of the stored values was delta-coded with wrap-around, in order), `shuffle` (the
uint16 view split into a high-byte and a low-byte plane), `sha256` (of the stored values: for a lossless array, the
original file's sha256) and `packSha256`. Frames and masks are lossless; features are float16; the init flow is
float16 at 1/`flowScale` of the model resolution (the trainer resamples it, io_spec.py), its error in the manifest.
"""
from __future__ import annotations

import hashlib
import json
import lzma
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from .data import DataError
from .warp import resize_flow

FORMAT = "streamedit-gpu-pack/1"
_INT_VIEW = {"uint8": np.uint8, "float16": np.uint16}
_ALLOWED_FILES = {"frames.u8", "features.f32", "masks.u8", "init_flow.f16"}
_ALLOWED_JSON = {"frames.json", "features.json", "references.json", "init_flow.json"}


def read_manifest(pack_dir: str) -> Dict[str, Any]:
    path = os.path.join(pack_dir, "manifest.json")
    try:
        with open(path, "r", encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError as e:
        raise DataError(f"{path} is missing; create the pack with `npm run bench -- gpu --pack {pack_dir}`.") from e
    if manifest.get("format") != FORMAT:
        raise DataError(f"{path} has format {manifest.get('format')!r}, expected {FORMAT!r}.")
    return manifest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unpack_array(pack_dir: str, entry: Dict[str, Any], out_dir: str) -> None:
    name = entry["file"]
    if name not in _ALLOWED_FILES or entry["store"] not in _INT_VIEW:
        raise DataError(f"manifest.json lists an unexpected array {name!r} stored as {entry['store']!r}.")
    with open(os.path.join(pack_dir, entry["pack"]), "rb") as f:
        packed = f.read()
    if _sha256(packed) != entry["packSha256"]:
        raise DataError(f"{entry['pack']} does not match its sha256 in manifest.json (a damaged copy of the pack).")
    view = _INT_VIEW[entry["store"]]
    shape = tuple(int(s) for s in entry["shape"])
    try:
        data = lzma.decompress(packed)
    except lzma.LZMAError as e:
        raise DataError(f"{entry['pack']} is not a valid xz stream ({e}).") from e
    if len(data) != int(np.prod(shape)) * np.dtype(view).itemsize:
        raise DataError(f"{entry['pack']} holds {len(data)} bytes, expected {entry['store']} {list(shape)}.")
    if entry.get("shuffle"):
        planes = np.frombuffer(data, dtype=np.uint8).reshape(2, -1).astype(np.uint16)
        values = ((planes[0] << 8) | planes[1]).reshape(shape)
    else:
        values = np.frombuffer(data, dtype=view).reshape(shape)
    for axis in reversed(entry.get("delta") or []):
        values = np.cumsum(values, axis=int(axis), dtype=view)  # undoes the wrap-around differences
    raw = np.ascontiguousarray(values).tobytes()
    if _sha256(raw) != entry["sha256"]:
        raise DataError(f"{name} rebuilt from {entry['pack']} does not match its sha256 in manifest.json.")
    stored = np.frombuffer(raw, dtype=np.dtype(entry["store"]))
    stored.astype(np.dtype(entry["dtype"])).tofile(os.path.join(out_dir, name))


def unpack(pack_dir: str, out_dir: str) -> Dict[str, Any]:
    """Writes the data directory into `out_dir` (every sha256 checked); returns the manifest."""
    manifest = read_manifest(pack_dir)
    os.makedirs(out_dir, exist_ok=True)
    for name, value in manifest["json"].items():
        if name not in _ALLOWED_JSON:
            raise DataError(f"manifest.json lists an unexpected file {name!r}.")
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(value, f)
    for entry in manifest["arrays"]:
        _unpack_array(pack_dir, entry, out_dir)
    return manifest


def _coded(values: np.ndarray, delta: Sequence[int], shuffle: bool) -> bytes:
    for axis in delta:
        values = np.diff(values, axis=axis, prepend=np.zeros_like(values.take([0], axis=axis)))
    if shuffle:
        return np.stack([values >> 8, values & 0xFF]).astype(np.uint8).tobytes()
    return np.ascontiguousarray(values).tobytes()


def _downscaled_flow(flow: np.ndarray, scale: int) -> Dict[str, Any]:
    """init_flow at 1/scale (a 2×2 mean per level, displacements rescaled) and its error once resampled back."""
    n, _, h, w = flow.shape
    if scale == 1 or h % scale or w % scale:
        return {"values": flow, "scale": 1, "meanAbsErrorPx": 0.0, "maxAbsErrorPx": 0.0}
    small = np.empty((n, 2, h // scale, w // scale), np.float16)
    total, worst = 0.0, 0.0
    for t in range(n):  # one frame at a time: the whole clip in float32 would be ~0.5 GB per copy
        full = torch.from_numpy(flow[t : t + 1].astype(np.float32))
        small[t] = resize_flow(full, h // scale, w // scale)[0].numpy().astype(np.float16)
        err = (resize_flow(torch.from_numpy(small[t : t + 1].astype(np.float32)), h, w) - full).abs()
        total, worst = total + float(err.mean()), max(worst, float(err.max()))
    return {"values": small, "scale": scale, "meanAbsErrorPx": total / n, "maxAbsErrorPx": worst}


def write_pack(data_dir: str, pack_dir: str, clip: str = "", flow_scale: int = 2, preset: int = 6,
               frames: Optional[int] = None) -> Dict[str, Any]:
    """Packs `data_dir` (the first `frames` frames, default all) into `pack_dir`; returns the manifest."""
    meta = {name: _load_json(os.path.join(data_dir, name)) for name in sorted(_ALLOWED_JSON) if os.path.exists(os.path.join(data_dir, name))}
    for name in ("frames.json", "features.json", "references.json"):
        if name not in meta:
            raise DataError(f"{os.path.join(data_dir, name)} is missing; write the training data directory first.")
    total = int(meta["frames.json"]["count"])
    n = total if frames is None else min(total, frames)
    if n < 2:
        raise DataError(f"a pack needs at least 2 frames (got {n}).")
    h, w = int(meta["frames.json"]["height"]), int(meta["frames.json"]["width"])
    f = meta["features.json"]
    os.makedirs(pack_dir, exist_ok=True)
    refs = meta["references.json"]
    if n < total:  # keep the windows whose reference is among the kept frames
        meta["frames.json"]["count"] = meta["features.json"]["count"] = n
        refs["frameReference"] = refs["frameReference"][:n]
        if "trainFrames" in refs:
            refs["trainFrames"] = min(n, int(refs["trainFrames"]))
        if any(r >= n for r in refs["references"]):
            raise DataError(f"a reference lies outside the first {n} frames; pack more frames.")
        refs.pop("windows", None)
        if "init_flow.json" in meta:
            meta["init_flow.json"]["count"] = n
    specs: List[Any] = [("frames.u8", "uint8", "uint8", (total, h, w, 3), [0, 2], False),
                        ("features.f32", "float32", "float16", (total, int(f["channels"]), int(f["height"]), int(f["width"])), [], True),
                        ("masks.u8", "uint8", "uint8", (total, h, w), [2], False)]
    flow_info: Dict[str, Any] = {}
    if "init_flow.json" in meta:
        fm = meta["init_flow.json"]
        specs.append(("init_flow.f16", "float16", "float16", (total, 2, int(fm["height"]), int(fm["width"])), [3], True))
    arrays = []
    for name, dtype, store, shape, delta, shuffle in specs:
        path = os.path.join(data_dir, name)
        if not os.path.exists(path):
            continue
        values = np.fromfile(path, dtype=np.dtype(dtype)).reshape(shape)[:n].astype(np.dtype(store))
        if name == "init_flow.f16":
            flow_info = _downscaled_flow(values, flow_scale)
            values = flow_info.pop("values")
            meta["init_flow.json"].update(width=int(values.shape[3]), height=int(values.shape[2]))
        ints = values.view(_INT_VIEW[store])
        packed = lzma.compress(_coded(ints, delta, shuffle), preset=preset)
        pack_name = f"{name}.{store}.xz"
        with open(os.path.join(pack_dir, pack_name), "wb") as out:
            out.write(packed)
        arrays.append({"file": name, "pack": pack_name, "dtype": dtype, "store": store, "shape": list(values.shape),
                       "delta": delta, "shuffle": shuffle, "sha256": _sha256(ints.tobytes()),
                       "packSha256": _sha256(packed), "packBytes": len(packed)})
    manifest = {"format": FORMAT, "clip": clip, "frames": n, "width": w, "height": h, "json": meta, "arrays": arrays,
                "initFlow": flow_info, "bytes": sum(a["packBytes"] for a in arrays)}
    with open(os.path.join(pack_dir, "manifest.json"), "w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=1)
    return manifest


def _load_json(path: str) -> Any:
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)
