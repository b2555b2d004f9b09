"""Command line of the trainer: `python -m streamedit_trainer train|export|forward|parity|evaluate|gpu-bench|gpu-pack …`.

Exit codes: 0 done, 2 bad input (message on stderr, one line), 1 anything else.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, Tuple

from .data import DataError
from .presets import PRESETS


def iterations(text: str) -> Tuple[int, int, int]:
    parts = [int(p) for p in text.split(",")]
    if len(parts) != 3 or min(parts) < 0:
        raise argparse.ArgumentTypeError("expected three counts HALF,INTERNAL,FULL, e.g. 3,5,3")
    return parts[0], parts[1], parts[2]


def parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="streamedit_trainer", description="StreamEdit PPCE trainer")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (or resume) on a data directory")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    t.add_argument("--max-iterations", type=int)
    t.add_argument("--check-every", type=int)
    t.add_argument("--stop-at-check", action="store_true")
    t.add_argument("--batch", type=int, help="frame pairs per step (default: the preset's, 1)")
    e = sub.add_parser("export", help="export a checkpoint to ONNX")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--hs-iterations", type=iterations, help="Horn-Schunck iterations HALF,INTERNAL,FULL (default: the checkpoint's)")
    f = sub.add_parser("forward", help="run a checkpoint on raw float32 inputs (parity tests)")
    f.add_argument("--checkpoint", required=True)
    f.add_argument("--inputs", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--hs-iterations", type=iterations)
    w = sub.add_parser("parity", help="run one image operation on raw planar float32 files (TS parity tests)")
    w.add_argument("--op", choices=["warp", "area", "resize-flow"], required=True)
    w.add_argument("--src", required=True)
    w.add_argument("--flow")
    w.add_argument("--out", required=True)
    for name in ("channels", "width", "height", "out-width", "out-height"):
        w.add_argument(f"--{name}", type=int, default=0)
    te = sub.add_parser("temporal-error", help="warping error between consecutive output frames (needs python3-opencv)")
    te.add_argument("--output", required=True)
    te.add_argument("--original", required=True)
    te.add_argument("--frames", type=int, default=10**9)
    g = sub.add_parser("gpu-bench", help="train and time the model on a real clip packed by `streamedit bench gpu`")
    g.add_argument("--pack", required=True, help="the pack folder (manifest.json + .xz arrays)")
    g.add_argument("--out", required=True, help="writes gpu.json here")
    g.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    g.add_argument("--budget-s", type=float, default=240.0, help="training seconds of the train phase (default 240)")
    g.add_argument("--limit-s", type=float, default=450.0, help="the whole run, rebuild included (default 450)")
    g.add_argument("--eval-at", type=int, default=1000, help="iteration of the first PSNR (default 1000)")
    g.add_argument("--batch", type=int, help="frame pairs per step (default: picked by the batch phase)")
    g.add_argument("--forward-runs", type=int, default=50)
    g.add_argument("--work", help="rebuild the data directory here and keep it (default: a temp dir)")
    k = sub.add_parser("gpu-pack", help="pack a training data directory for gpu-bench (lossless frames, float16 features)")
    k.add_argument("--data", required=True)
    k.add_argument("--pack", required=True)
    k.add_argument("--clip", default="")
    k.add_argument("--frames", type=int, help="only the first N frames")
    k.add_argument("--flow-scale", type=int, default=2, help="init flow stored at 1/N of the model resolution (default 2)")
    v = sub.add_parser("evaluate", help="reconstruction PSNR of every frame from one reference")
    v.add_argument("--checkpoint", required=True)
    v.add_argument("--data", required=True)
    v.add_argument("--reference", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(argv)
    try:
        if args.command == "train":
            from .train import TrainOptions, train, preset_with

            preset = preset_with(args.preset, args.max_iterations, args.check_every, args.batch)
            train(TrainOptions(args.data, args.out, preset, args.stop_at_check))
        elif args.command == "export":
            from .export import export_onnx

            shapes = export_onnx(args.checkpoint, args.out, args.hs_iterations)
            print(json.dumps({"type": "exported", "path": args.out, "inputs": shapes}))
        elif args.command == "forward":
            from .export import forward_files

            forward_files(args.checkpoint, args.inputs, args.out, args.hs_iterations)
        elif args.command == "parity":
            from .export import parity_op

            parity_op(args.op, args.src, args.flow, args.out, args.channels, args.width, args.height, args.out_width, args.out_height)
        elif args.command == "temporal-error":
            from .temporal import warping_error

            print(json.dumps({"type": "temporal-error", **warping_error(args.output, args.original, args.frames)}))
        elif args.command == "gpu-bench":
            from .gpu_bench import BenchOptions, gpu_bench

            if args.budget_s <= 0 or args.limit_s <= 0 or args.eval_at < 1 or (args.batch is not None and args.batch < 1):
                raise ValueError("--budget-s and --limit-s must be positive, --eval-at and --batch at least 1.")
            return gpu_bench(BenchOptions(args.pack, args.out, args.preset, args.budget_s, args.limit_s, args.eval_at,
                                          args.batch, args.forward_runs, args.work))
        elif args.command == "gpu-pack":
            from .gpu_pack import write_pack

            if args.flow_scale not in (1, 2, 4):
                raise ValueError("--flow-scale must be 1, 2 or 4.")
            manifest = write_pack(args.data, args.pack, args.clip, args.flow_scale, frames=args.frames)
            print(json.dumps({"type": "packed", "path": args.pack, "frames": manifest["frames"], "bytes": manifest["bytes"],
                              "initFlow": manifest["initFlow"], "arrays": {a["file"]: a["packBytes"] for a in manifest["arrays"]}}))
        elif args.command == "evaluate":
            from .evaluate import reconstruct_psnr

            result = reconstruct_psnr(args.checkpoint, args.data, args.reference)
            print(json.dumps({"type": "evaluation", "psnr": result["psnr"], "frames": result["frames"]}))
    except (DataError, ValueError, FileNotFoundError) as err:
        sys.stderr.write(f"{err}\n")
        return 2
    except RuntimeError as err:  # TrainingError and torch failures: one line last, for the TS error message
        sys.stderr.write(f"{type(err).__name__}: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
