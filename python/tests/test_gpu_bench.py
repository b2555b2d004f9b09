"""gpu-bench: the pack round trip (lossless frames, masks and init flow; float16 features; sha256 checked), the
batch choice, and a whole CPU dry run of the bench (tiny preset, a few seconds of budget) writing every field."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from streamedit_trainer.data import DataError, read_training_data, write_training_data
from streamedit_trainer.gpu_bench import pick_batch
from streamedit_trainer.gpu_pack import unpack, write_pack
from tests.synthetic import moving_pattern, write_synthetic

PYTHONPATH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_with_flow(directory: str, count: int = 5, size: int = 32) -> None:
    """A data directory with a non-trivial init flow (a smooth field) and random features."""
    rng = np.random.default_rng(3)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.stack([np.stack([np.sin(xs / 7 + t) * 3, np.cos(ys / 5 - t) * 2]) for t in range(count)]).astype(np.float16)
    masks = (rng.random((count, size, size)) > 0.5).astype(np.uint8) * 255
    feats = rng.standard_normal((count, 8, 4, 4)).astype(np.float32)
    write_training_data(directory, moving_pattern(count, size), feats, [0, 3], [0, 0, 0, 1, 1], masks=masks, init_flow=flow)


class PackTest(unittest.TestCase):
    def test_the_pack_rebuilds_frames_masks_and_flow_exactly_and_features_in_float16(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            src, pack, out = (os.path.join(d, n) for n in ("src", "pack", "out"))
            write_with_flow(src)
            manifest = write_pack(src, pack, "synthetic", flow_scale=1)
            self.assertEqual(manifest["frames"], 5)
            unpack(pack, out)
            for name in ("frames.u8", "masks.u8", "init_flow.f16", "references.json"):
                with open(os.path.join(src, name), "rb") as a, open(os.path.join(out, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)
            a, b = read_training_data(src), read_training_data(out)
            np.testing.assert_array_equal(np.asarray(b.features), np.asarray(a.features).astype(np.float16).astype(np.float32))
            self.assertFalse(np.array_equal(np.asarray(b.features), np.asarray(a.features)))  # really float16
            self.assertEqual(b.references, [0, 3])

    def test_a_downscaled_flow_and_a_frame_cut_still_make_a_valid_directory(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            src, pack, out = (os.path.join(d, n) for n in ("src", "pack", "out"))
            write_with_flow(src)
            manifest = write_pack(src, pack, flow_scale=2, frames=4)
            self.assertGreater(manifest["initFlow"]["meanAbsErrorPx"], 0.0)
            self.assertLess(manifest["initFlow"]["meanAbsErrorPx"], 0.5)
            unpack(pack, out)
            data = read_training_data(out)
            self.assertEqual((data.count, data.init_size), (4, (16, 16)))
            with self.assertRaisesRegex(DataError, "reference lies outside"):
                write_pack(src, os.path.join(d, "short"), frames=3)

    def test_a_damaged_pack_is_refused_with_the_file_named(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            src, pack = os.path.join(d, "src"), os.path.join(d, "pack")
            write_with_flow(src)
            manifest = write_pack(src, pack)
            path = os.path.join(pack, manifest["arrays"][0]["pack"])
            with open(path, "r+b") as f:
                f.seek(20)
                byte = f.read(1)
                f.seek(20)
                f.write(bytes([byte[0] ^ 1]))
            with self.assertRaisesRegex(DataError, "frames.u8.uint8.xz does not match its sha256"):
                unpack(pack, os.path.join(d, "out"))
            run = subprocess.run([sys.executable, "-m", "streamedit_trainer", "gpu-bench", "--pack", pack, "--out", os.path.join(d, "res")],
                                 env={**os.environ, "PYTHONPATH": PYTHONPATH}, capture_output=True, text=True)
            self.assertEqual(run.returncode, 2)
            self.assertIn("does not match its sha256", run.stderr)
            with open(os.path.join(d, "res", "gpu.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["status"], "failed")


class PickBatchTest(unittest.TestCase):
    def test_batch_1_unless_a_bigger_one_moves_clearly_more_pairs(self) -> None:
        row = lambda b, p: {"batch": b, "pairs_per_s": p}  # noqa: E731
        self.assertEqual(pick_batch([row(1, 10), row(2, 11), row(4, 11.4)])["batch"], 1)
        self.assertEqual(pick_batch([row(1, 10), row(2, 18), row(4, 30), row(8, 31)])["batch"], 4)
        self.assertEqual(pick_batch([row(1, 10), row(2, 19), {"batch": 4, "error": "out of memory"}])["batch"], 2)


class DryRunTest(unittest.TestCase):
    def test_the_whole_bench_runs_on_cpu_and_writes_every_field(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            data, pack, out = (os.path.join(d, n) for n in ("data", "pack", "out"))
            write_synthetic(data, count=6, size=64)
            write_pack(data, pack, "synthetic")
            env = {**os.environ, "PYTHONPATH": PYTHONPATH, "STREAMEDIT_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1"}
            run = subprocess.run([sys.executable, "-m", "streamedit_trainer", "gpu-bench", "--pack", pack, "--out", out,
                                  "--preset", "tiny", "--budget-s", "4", "--eval-at", "5", "--forward-runs", "5"],
                                 env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(run.returncode, 0, run.stdout[-2000:] + run.stderr[-2000:])
            self.assertIn("gpu-bench done", run.stdout)
            with open(os.path.join(out, "gpu.json"), encoding="utf-8") as f:
                r = json.load(f)
            self.assertEqual(r["status"], "done")
            self.assertEqual({k: v["status"] for k, v in r["phases"].items()},
                             {"env": "ok", "rebuild": "ok", "forward": "ok", "batch": "ok", "train": "ok"})
            self.assertEqual(r["env"]["device"], "cpu")
            self.assertTrue(r["env"]["torch"])
            self.assertEqual((r["pack"]["frames"], r["pack"]["verified_sha256"]), (6, 4))
            self.assertEqual((r["forward"]["width"], r["forward"]["height"]), (64, 64))
            for precision in ("fp32", "bf16"):
                timing = r["forward"][precision]
                if "error" in timing:  # a CPU build without a bf16 kernel for an op: recorded, not fatal
                    self.assertEqual(precision, "bf16")
                    continue
                self.assertGreater(timing["median_ms"], 0.0)
                self.assertGreaterEqual(timing["runs"], 3)
                self.assertLessEqual(timing["p10_ms"], timing["median_ms"])
                self.assertLessEqual(timing["median_ms"], timing["p90_ms"])
            probe = r["batch"]["probe"]
            self.assertEqual([p["batch"] for p in probe], [1, 2, 4, 8])
            self.assertIn("it_per_s", probe[0])
            for p in probe:
                if "skipped" in p:  # a loaded machine: the probe's cap left no time for the bigger batches
                    continue
                self.assertGreater(p["it_per_s"], 0.0)
                self.assertAlmostEqual(p["pairs_per_s"], p["batch"] * p["it_per_s"], delta=0.01 * p["pairs_per_s"] + 0.01)
            self.assertIn(r["batch"]["chosen"], [p["batch"] for p in probe if "it_per_s" in p])
            train = r["train"]
            self.assertEqual(train["batch"], r["batch"]["chosen"])
            self.assertGreaterEqual(train["iterations"], 5)
            self.assertEqual(train["pairs"], train["iterations"] * train["batch"])
            self.assertGreater(train["it_per_s"], 0.0)
            self.assertIn("0", train["psnr"])
            self.assertIn("5", train["psnr"])
            self.assertIn(str(train["iterations"]), train["psnr"])
            for value in train["psnr"].values():
                self.assertTrue(5.0 < value < 99.0, value)
            self.assertTrue(train["loss_curve"])
            self.assertLess(r["wall_s"], 60.0)


if __name__ == "__main__":
    unittest.main()
