#!/usr/bin/env bash
# The GPU half of `npm run bench -- gpu`: trains and times the PPCE model on a CUDA machine that has only Python 3 with
# PyTorch + numpy (no Node, no Chromium, no network). Usage (from the repo root):
#
#   bash scripts/gpu-bench.sh PACKDIR [extra gpu-bench flags, e.g. --budget-s 120]
#
# PACKDIR is made here by `npm run bench -- gpu` (default .gpu-pack). Results: $OUT/gpu.json and $OUT/gpu-bench.log
# ($OUT defaults to ./bench-results/gpu). The whole run stops at 8 minutes (`timeout 480`); the Python side plans
# for 450 s and rewrites its JSON after every phase, so a cut run still leaves its figures.
set -uo pipefail

PACK="${1:?usage: bash scripts/gpu-bench.sh PACKDIR [gpu-bench flags]}"
shift
if [ ! -f "$PACK/manifest.json" ]; then
  echo "gpu-bench: $PACK/manifest.json is missing; create the pack with 'npm run bench -- gpu --pack $PACK'." >&2
  exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT_DIR="${OUT:-$ROOT/bench-results/gpu}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT_DIR"

echo "[gpu-bench] $(date -u +%FT%TZ) pack $PACK ($(du -sh "$PACK" | cut -f1)), results in $OUT_DIR"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PYTHON" -c 'import torch, numpy; print("[gpu-bench] torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "numpy", numpy.__version__)'

PYTHONPATH="$ROOT/python" PYTHONUNBUFFERED=1 timeout -k 10 480 \
  "$PYTHON" -m streamedit_trainer gpu-bench --pack "$PACK" --out "$OUT_DIR" "$@" 2>&1 | tee "$OUT_DIR/gpu-bench.log"
rc=${PIPESTATUS[0]}
echo "[gpu-bench] exit $rc; $(date -u +%FT%TZ); wrote $OUT_DIR/gpu.json"
exit "$rc"
