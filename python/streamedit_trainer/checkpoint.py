"""Checkpoints written atomically (temp file + fsync + rename) with a sha256 sidecar; the latest valid one resumes."""
from __future__ import annotations

import hashlib
import os
import re
from typing import Any, Dict, List, Optional, Tuple

import torch

_NAME = re.compile(r"^checkpoint-(\d{8})\.pt$")


def checkpoint_path(out_dir: str, iteration: int) -> str:
    return os.path.join(out_dir, f"checkpoint-{iteration:08d}.pt")


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: str, write: Any) -> None:
    """Calls write(file) on a temp file beside `path`, fsyncs, then renames over `path`."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_checkpoint(out_dir: str, iteration: int, state: Dict[str, Any]) -> str:
    """Writes checkpoint-ITER.pt then its .sha256 sidecar; a checkpoint without a matching sidecar is never loaded."""
    path = checkpoint_path(out_dir, iteration)
    write_atomic(path, lambda f: torch.save(state, f))
    line = f"{sha256_file(path)}  {os.path.basename(path)}\n".encode()
    write_atomic(path + ".sha256", lambda f: f.write(line))
    return path


def verify_checkpoint(path: str) -> bool:
    try:
        with open(path + ".sha256", "r", encoding="utf-8") as f:
            expected = f.read().split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return os.path.exists(path) and sha256_file(path) == expected


def list_checkpoints(out_dir: str) -> List[Tuple[int, str]]:
    """(iteration, path) of every checkpoint file in `out_dir`, newest first (not yet verified)."""
    if not os.path.isdir(out_dir):
        return []
    found = [(int(m.group(1)), os.path.join(out_dir, name)) for name in os.listdir(out_dir) if (m := _NAME.match(name))]
    return sorted(found, reverse=True)


def latest_checkpoint(out_dir: str) -> Optional[str]:
    """The newest checkpoint whose sha256 matches its sidecar (a kill mid-write leaves an older valid one)."""
    for _, path in list_checkpoints(out_dir):
        if verify_checkpoint(path):
            return path
    return None


def load_checkpoint(path: str, device: str = "cpu") -> Dict[str, Any]:
    """Loads a checkpoint after checking its sha256; it holds RNG states, hence weights_only=False."""
    if not verify_checkpoint(path):
        raise ValueError(f"{path} does not match its .sha256 sidecar; use another checkpoint or retrain.")
    return torch.load(path, map_location=device, weights_only=False)
