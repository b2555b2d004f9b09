"""`gpu-bench`: the trainer on a GPU, measured on a real clip packed by `streamedit bench gpu` (gpu_pack.py).

Needs only PyTorch + numpy (runs unchanged on torch 1.13 CPU and 2.x CUDA). Phases, each with its own time cap, in
order: env, rebuild (the data directory from the pack, sha256 checked), forward (the PPCE forward in fp32 and in
bf16 autocast: CUDA events, warm-up, median), batch (training steps at 1, 2, 4, 8 frame pairs per step: it/s,
pairs/s, GPU utilisation; picks the batch), train (the preset at the picked batch with a schedule sized to fit
`budget_s`: PSNR of the trainer's evaluate before training, after `eval_at` iterations and at the end). The JSON is
rewritten after every phase, and on SIGTERM, so a run cut short still leaves what it measured.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from .evaluate import model_psnr
from .gpu_pack import unpack
from .train import Trainer, TrainOptions, configure_threads, pick_device, preset_with

PROBE_BATCHES = (1, 2, 4, 8)
GAIN_TO_BATCH = 1.15  # a bigger batch is picked only if it moves ≥ 15 % more pairs/s than batch 1
KNEE = 0.9  # … and then the smallest batch within 90 % of the best pairs/s (more steps per pair seen)


class PhaseTimeout(Exception):
    """A phase ran past its cap (raised by SIGALRM when a single operation overruns the cooperative checks)."""


@dataclass(frozen=True)
class BenchOptions:
    pack: str
    out: str
    preset: str = "paper"
    budget_s: float = 240.0  # training time of the `train` phase
    limit_s: float = 450.0  # the whole run, rebuild included; every phase is cut to what is left
    eval_at: int = 1000  # the first PSNR after this many iterations
    batch: Optional[int] = None  # force a batch instead of picking one
    forward_runs: int = 50
    work: Optional[str] = None  # where the data directory is rebuilt (default: a temp dir, removed at the end)


def log(message: str) -> None:
    sys.stdout.write(f"[gpu-bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stdout.flush()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_mb(device: torch.device) -> Optional[float]:
    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.type == "cuda" else None


def nvidia_smi(query: str) -> Optional[List[str]]:
    """`nvidia-smi --query-gpu=QUERY` of the first GPU as fields, or None without one."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return [f.strip() for f in lines[0].split(",")] if out.returncode == 0 and lines else None


class UtilisationSampler:
    """GPU utilisation (%) sampled by nvidia-smi every `period` s while a `with` block runs (None without one)."""

    def __init__(self, period: float = 0.5) -> None:
        self.period = period
        self.samples: List[float] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "UtilisationSampler":
        if shutil.which("nvidia-smi") is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            fields = nvidia_smi("utilization.gpu")
            if fields and fields[0].replace(".", "", 1).isdigit():
                self.samples.append(float(fields[0]))

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=12)

    @property
    def mean(self) -> Optional[float]:
        return round(float(np.mean(self.samples)), 1) if self.samples else None


def percentiles(ms: Sequence[float]) -> Dict[str, float]:
    a = np.asarray(ms, dtype=np.float64)
    return {"median_ms": round(float(np.median(a)), 3), "p10_ms": round(float(np.percentile(a, 10)), 3),
            "p90_ms": round(float(np.percentile(a, 90)), 3), "runs": int(a.size), "fps": round(1000.0 / float(np.median(a)), 2)}


def autocast(device: torch.device, precision: str) -> Any:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)  # torch ≥ 1.10 on CPU and CUDA


@torch.no_grad()
def time_forward(model: torch.nn.Module, inputs: Dict[str, torch.Tensor], device: torch.device, precision: str,
                 runs: int, deadline: float) -> Dict[str, Any]:
    """Median time of one forward (inference, batch 1): CUDA events on a GPU, perf_counter on a CPU."""
    model.eval()
    times: List[float] = []
    with autocast(device, precision):
        for _ in range(3):  # warm-up (cuDNN autotuning, allocator)
            model(**inputs)
        synchronize(device)
        while len(times) < runs and (time.time() < deadline or len(times) < 3):
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(**inputs)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                model(**inputs)
                times.append(1000.0 * (time.perf_counter() - t0))
        flow = model(**inputs)["flow"].float()
    return {**percentiles(times), "flow": flow}


def pick_batch(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Batch 1 unless a bigger one moves ≥ GAIN_TO_BATCH × its pairs/s; then the smallest within KNEE of the best."""
    ok = [r for r in rows if "pairs_per_s" in r]
    one = next((r for r in ok if r["batch"] == 1), None)
    if one is None:
        return {"batch": 1, "reason": "batch 1 was not measured"}
    best = max(ok, key=lambda r: r["pairs_per_s"])
    if best["pairs_per_s"] < GAIN_TO_BATCH * one["pairs_per_s"]:
        return {"batch": 1, "reason": f"no batch moved ≥ {GAIN_TO_BATCH:.2f}× the pairs/s of batch 1 (best {best['batch']}: {best['pairs_per_s'] / one['pairs_per_s']:.2f}×)"}
    knee = min((r for r in ok if r["pairs_per_s"] >= KNEE * best["pairs_per_s"]), key=lambda r: r["batch"])
    return {"batch": knee["batch"], "reason": f"batch {knee['batch']} moves {knee['pairs_per_s'] / one['pairs_per_s']:.2f}× the pairs/s of batch 1 (best: batch {best['batch']}, {best['pairs_per_s'] / one['pairs_per_s']:.2f}×)"}


class GpuBench:
    def __init__(self, options: BenchOptions) -> None:
        self.o = options
        self.started = time.time()
        self.device = pick_device()
        self.json_path = os.path.join(options.out, "gpu.json")
        self.work = options.work or tempfile.mkdtemp(prefix="streamedit-gpu-bench-")
        self.data_dir = os.path.join(self.work, "train")
        self.train_deadline = float("inf")
        self.result: Dict[str, Any] = {
            "suite": "gpu", "format": 1, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "status": "running",
            "options": {"preset": options.preset, "budget_s": options.budget_s, "limit_s": options.limit_s,
                        "eval_at": options.eval_at, "batch": options.batch, "forward_runs": options.forward_runs},
            "phases": {}, "env": {}, "pack": {}, "forward": {}, "batch": {}, "train": {}, "memory": {},
        }

    # --- bookkeeping -------------------------------------------------------------------------------------------
    def save(self) -> None:
        self.result["wall_s"] = round(time.time() - self.started, 2)
        os.makedirs(self.o.out, exist_ok=True)
        tmp = f"{self.json_path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.result, f, indent=2)
        os.replace(tmp, self.json_path)

    def left(self) -> float:
        return self.o.limit_s - (time.time() - self.started)

    def phase(self, name: str, cap: float, run: Callable[[float], None]) -> bool:
        """Runs `run(deadline)` with at most `cap` seconds (and what the run's limit leaves); records the outcome."""
        cap = max(1.0, min(cap, self.left() - 5.0))
        record: Dict[str, Any] = {"status": "running", "cap_s": round(cap, 1)}
        self.result["phases"][name] = record
        self.save()
        log(f"{name}: start (cap {cap:.0f} s)")
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.time()

        def overrun(*_: Any) -> None:
            raise PhaseTimeout(f"{name} ran past its cap of {cap:.0f} s")

        previous = signal.signal(signal.SIGALRM, overrun)
        signal.setitimer(signal.ITIMER_REAL, cap + 20.0)  # backstop: loops stop themselves at the cap
        try:
            run(start + cap)
            record["status"] = "ok"
        except PhaseTimeout as e:
            record.update(status="timeout", error=str(e))
        except Exception as e:  # a failed phase is a result: record it and go on with the next
            record.update(status="error", error=f"{type(e).__name__}: {e}", trace=traceback.format_exc(limit=4)[-1500:])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        record["seconds"] = round(time.time() - start, 2)
        self.result["memory"][name] = peak_mb(self.device)
        self.save()
        log(f"{name}: {record['status']} in {record['seconds']:.1f} s" + (f" — {record['error']}" if "error" in record else ""))
        return record["status"] == "ok"

    # --- phases ------------------------------------------------------------------------------------------------
    def env(self, _deadline: float) -> None:
        env: Dict[str, Any] = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
                               "device": self.device.type, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                               "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if self.device.type == "cuda" else None}
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
            props = torch.cuda.get_device_properties(0)
            env.update(gpu=torch.cuda.get_device_name(0), gpu_memory_mb=round(props.total_memory / 2**20),
                       cudnn_benchmark=True, tf32_conv=torch.backends.cudnn.allow_tf32, tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
        smi = nvidia_smi("name,memory.total,driver_version")
        env["nvidia_smi"] = {"name": smi[0], "memory_total_mb": smi[1], "driver": smi[2]} if smi and len(smi) >= 3 else None
        self.result["env"] = env

    def rebuild(self, _deadline: float) -> None:
        t0 = time.time()
        manifest = unpack(self.o.pack, self.data_dir)
        self.result["pack"] = {"clip": manifest.get("clip"), "frames": manifest["frames"], "width": manifest["width"],
                               "height": manifest["height"], "bytes": sum(int(a["packBytes"]) for a in manifest["arrays"]),
                               "init_flow": manifest.get("initFlow"), "verified_sha256": len(manifest["arrays"]),
                               "rebuild_s": round(time.time() - t0, 2)}

    def trainer(self, batch: int, iterations: int) -> Trainer:
        preset = preset_with(self.o.preset, iterations, 10**9, batch)
        return Trainer(TrainOptions(self.data_dir, tempfile.mkdtemp(dir=self.work, prefix="out-"), preset))

    def forward(self, deadline: float) -> None:
        trainer = self.trainer(1, 1)
        model, inputs = trainer.model, trainer.source.pair(min(1, trainer.source.data.count - 1))
        cfg = model.cfg
        self.result["forward"] = {"width": cfg.width, "height": cfg.height, "params": sum(p.numel() for p in model.parameters())}
        half = time.time() + (deadline - time.time()) / 2
        fp32 = time_forward(model, inputs, self.device, "fp32", self.o.forward_runs, half)
        self.result["forward"]["fp32"] = {k: v for k, v in fp32.items() if k != "flow"}
        self.save()
        try:
            bf16 = time_forward(model, inputs, self.device, "bf16", self.o.forward_runs, deadline)
            diff = (bf16.pop("flow") - fp32["flow"]).abs()
            self.result["forward"]["bf16"] = {**bf16, "flow_mean_abs_diff_px": round(float(diff.mean()), 4),
                                              "flow_max_abs_diff_px": round(float(diff.max()), 4)}
        except (RuntimeError, TypeError) as e:  # an op without a bf16 kernel on this device: a result, not a crash
            self.result["forward"]["bf16"] = {"error": f"{type(e).__name__}: {e}"[:500]}

    def probe(self, deadline: float) -> None:
        """A few timed training steps per batch size (after 3 warm-up steps), on fresh models."""
        rows: List[Dict[str, Any]] = []
        self.result["batch"]["probe"] = rows
        sizes = [self.o.batch] if self.o.batch else list(PROBE_BATCHES)
        if self.o.batch and self.o.batch != 1:
            sizes = [1, self.o.batch]
        try:
            self._probe_sizes(sizes, rows, deadline)
        finally:  # a probe cut short still picks among the sizes it measured
            choice = {"batch": self.o.batch, "reason": "--batch"} if self.o.batch else pick_batch(rows)
            self.result["batch"].update(chosen=choice["batch"], reason=choice["reason"])

    def _probe_sizes(self, sizes: List[int], rows: List[Dict[str, Any]], deadline: float) -> None:
        step_s = 0.0  # seconds per pair of the last size measured
        for i, batch in enumerate(sizes):
            until = time.time() + (deadline - time.time()) / (len(sizes) - i)
            row: Dict[str, Any] = {"batch": batch}
            rows.append(row)
            if i > 0 and batch != self.o.batch and time.time() + 6 * step_s * batch > deadline:  # 3 warm-up + 3 timed steps would not fit
                row["skipped"] = "no time left in the phase's cap"
                continue
            try:
                trainer = self.trainer(batch, 10**6)
                for _ in range(3):
                    trainer.step()
                synchronize(self.device)
                steps, t0 = 0, time.time()
                with UtilisationSampler() as util:
                    while steps < 3 or (time.time() < until and steps < 200):
                        trainer.step()  # reads the loss back (.item()): synchronised, as in the real trainer
                        steps += 1
                seconds = time.time() - t0
                step_s = seconds / steps / batch
                row.update(steps=steps, ms_per_step=round(1000 * seconds / steps, 2), it_per_s=round(steps / seconds, 3),
                           pairs_per_s=round(batch * steps / seconds, 3), gpu_util_percent=util.mean)
                del trainer
            except RuntimeError as e:  # out of memory at a big batch: stop growing
                row["error"] = f"{type(e).__name__}: {e}"[:300]
                break
            finally:
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
            log(f"  batch {batch}: {row.get('it_per_s')} it/s, {row.get('pairs_per_s')} pairs/s, GPU {row.get('gpu_util_percent')} %")
            self.save()

    def train(self, deadline: float) -> None:
        """The preset at the chosen batch, its schedule sized to the budget; PSNR at 0, eval_at and the end."""
        self.train_deadline = deadline
        batch = int(self.result["batch"].get("chosen") or 1)
        rate = next((r.get("it_per_s") for r in self.result["batch"].get("probe", []) if r["batch"] == batch), None)
        budget = max(1.0, min(self.o.budget_s, deadline - time.time() - 3 * self.eval_estimate()))
        # no probe figure: the preset's own schedule, cut by the budget
        schedule = max(self.o.eval_at, int(rate * budget * 0.95)) if rate else preset_with(self.o.preset, None, None).iterations
        trainer = self.trainer(batch, schedule)
        record: Dict[str, Any] = {"batch": batch, "schedule_iterations": schedule, "budget_s": round(budget, 1), "psnr": {}}
        self.result["train"] = record
        self.evaluate(trainer, record, 0)
        trained, losses, window = 0.0, [], []
        stop = time.time() + budget
        with UtilisationSampler(period=2.0) as util:
            while trainer.iteration < schedule and time.time() < stop:
                t0 = time.time()
                window.append(trainer.step()["loss"])
                trained += time.time() - t0
                if trainer.iteration == self.o.eval_at:
                    t1 = time.time()
                    self.evaluate(trainer, record, trainer.iteration)
                    # evaluation time is not training time, as long as the last evaluation still fits the cap
                    stop = min(stop + time.time() - t1, deadline - self.eval_estimate())
                if trainer.iteration % max(1, schedule // 20) == 0:
                    losses.append({"iteration": trainer.iteration, "seconds": round(trained, 2), "loss": round(float(np.mean(window)), 5)})
                    window = []
                    record.update(iterations=trainer.iteration, train_s=round(trained, 2), loss_curve=losses)
                    self.save()
        record.update(iterations=trainer.iteration, pairs=trainer.iteration * batch, train_s=round(trained, 2),
                      it_per_s=round(trainer.iteration / max(trained, 1e-9), 3),
                      pairs_per_s=round(trainer.iteration * batch / max(trained, 1e-9), 3), loss_curve=losses,
                      gpu_util_percent=util.mean)
        self.save()
        if trainer.iteration != self.o.eval_at:
            self.evaluate(trainer, record, trainer.iteration)

    def eval_estimate(self) -> float:
        """Seconds one evaluation may take: 1.5 × the median forward × frames + 5 s (unknown: 10 s)."""
        fp32 = self.result["forward"].get("fp32")
        frames = self.result["pack"].get("frames") or 0
        return 10.0 if not fp32 else 5.0 + 1.5 * frames * fp32["median_ms"] / 1000.0

    def evaluate(self, trainer: Trainer, record: Dict[str, Any], iteration: int) -> None:
        t0 = time.time()
        if t0 + self.eval_estimate() > self.train_deadline:  # it would be cut by the phase cap: say so instead
            record.setdefault("skipped_evals", []).append(iteration)
            log(f"  PSNR after {iteration} iterations: skipped (~{self.eval_estimate():.0f} s would pass the phase cap)")
            return
        result = model_psnr(trainer.model, trainer.source.data, self.device)
        record["psnr"][str(iteration)] = round(float(result["psnr"]), 3)  # type: ignore[arg-type]
        record.setdefault("eval_s", []).append(round(time.time() - t0, 2))
        log(f"  PSNR after {iteration} iterations: {result['psnr']:.2f} dB ({time.time() - t0:.1f} s)")
        self.save()

    # --- the run -----------------------------------------------------------------------------------------------
    def run(self) -> int:
        def killed(signum: int, _frame: Any) -> None:
            self.result["status"] = f"killed by signal {signum}"
            self.save()
            raise SystemExit(124)

        signal.signal(signal.SIGTERM, killed)
        configure_threads()
        try:
            self.phase("env", 20, self.env)
            if not self.phase("rebuild", 90, self.rebuild):
                self.result["status"] = "failed"
                self.save()
                sys.stderr.write(f"{self.result['phases']['rebuild'].get('error', 'the pack could not be rebuilt')}\n")
                return 2 if "DataError" in self.result["phases"]["rebuild"].get("error", "") else 1
            self.phase("forward", 45, self.forward)
            self.phase("batch", min(60.0, max(6.0, self.o.budget_s / 4)), self.probe)
            self.phase("train", self.o.budget_s + 120, self.train)
            ok = all(p["status"] == "ok" for p in self.result["phases"].values())
            self.result["status"] = "done" if ok else "partial"
            self.result["memory"]["peak_mb"] = max((v for v in self.result["memory"].values() if isinstance(v, (int, float))), default=None)
            self.save()
            sys.stdout.write(table(self.result) + "\n")
            return 0 if ok else 1
        finally:
            if self.o.work is None:
                shutil.rmtree(self.work, ignore_errors=True)


def table(r: Dict[str, Any]) -> str:
    """The human summary of a result (also what docs/benchmarks.md quotes)."""
    env, fwd, batch, train = r["env"], r["forward"], r["batch"], r["train"]
    gpu = (env.get("nvidia_smi") or {}).get("name") or env.get("gpu") or "CPU"
    lines = [f"gpu-bench {r['status']}: {gpu}, torch {env.get('torch')}, preset {r['options']['preset']}, "
             f"pack {r['pack'].get('clip')} ({r['pack'].get('frames')} frames, {(r['pack'].get('bytes') or 0) / 1e6:.1f} MB), "
             f"wall {r.get('wall_s', 0):.0f} s, peak GPU memory {r['memory'].get('peak_mb')} MB"]
    for p in ("fp32", "bf16"):
        f = fwd.get(p) or {}
        lines.append(f"  forward {p:4s} {fwd.get('width')}×{fwd.get('height')}: " +
                     (f"median {f['median_ms']:.2f} ms (p10 {f['p10_ms']:.2f}, p90 {f['p90_ms']:.2f}), {f['fps']:.1f} fps" if "median_ms" in f else f.get("error", "not measured")))
    for row in batch.get("probe", []):
        lines.append(f"  train batch {row['batch']}: " + (f"{row['it_per_s']:.2f} it/s, {row['pairs_per_s']:.2f} pairs/s, GPU {row.get('gpu_util_percent')} %" if "it_per_s" in row else row.get("error") or row.get("skipped") or "not measured"))
    lines.append(f"  picked batch {batch.get('chosen')}: {batch.get('reason')}")
    if train.get("iterations") is not None:
        psnr = ", ".join(f"{k} it {v:.2f} dB" for k, v in train.get("psnr", {}).items())
        lines.append(f"  train: {train['iterations']} iterations (schedule {train['schedule_iterations']}) in {train.get('train_s', 0):.0f} s, "
                     f"{train.get('it_per_s', 0):.2f} it/s, {train.get('pairs_per_s', 0):.2f} pairs/s; PSNR {psnr}")
    for name, p in r["phases"].items():
        if p["status"] != "ok":
            lines.append(f"  phase {name}: {p['status']} — {p.get('error', '')}")
    return "\n".join(lines)


def gpu_bench(options: BenchOptions) -> int:
    return GpuBench(options).run()
