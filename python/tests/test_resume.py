"""Resume after kill -9: a tiny training killed after its first checkpoint and restarted ends where an uninterrupted
run ends (same iteration, same weights within tolerance)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest
from typing import List

import torch

from streamedit_trainer.checkpoint import latest_checkpoint, load_checkpoint
from tests.synthetic import write_synthetic

ITERATIONS, CHECK = 16, 4
PYTHONPATH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def trainer(data: str, out: str, *extra: str) -> List[str]:
    return [sys.executable, "-m", "streamedit_trainer", "train", "--data", data, "--out", out, "--preset", "tiny",
            "--max-iterations", str(ITERATIONS), "--check-every", str(CHECK), *extra]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": PYTHONPATH, "STREAMEDIT_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1"}


def events(stdout: str) -> List[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


class ResumeTest(unittest.TestCase):
    def test_kill_9_then_restart_equals_an_uninterrupted_run(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "data")
            write_synthetic(data)
            whole = subprocess.run(trainer(data, os.path.join(d, "whole")), env=env(), capture_output=True, text=True, check=True)
            self.assertEqual(events(whole.stdout)[-1]["iteration"], ITERATIONS)

            out = os.path.join(d, "killed")
            child = subprocess.Popen(trainer(data, out), env=env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert child.stdout is not None
            for line in child.stdout:
                if '"check"' in line:
                    child.send_signal(signal.SIGKILL)
                    break
            child.wait()
            child.stdout.close()
            self.assertEqual(child.returncode, -signal.SIGKILL)
            resumed = events(subprocess.run(trainer(data, out), env=env(), capture_output=True, text=True, check=True).stdout)
            self.assertEqual(resumed[0]["type"], "resumed")
            self.assertEqual(resumed[0]["iteration"] % CHECK, 0)
            self.assertLess(resumed[0]["iteration"], ITERATIONS)
            self.assertEqual(resumed[-1]["type"], "done")

            a = load_checkpoint(latest_checkpoint(os.path.join(d, "whole")) or "")
            b = load_checkpoint(latest_checkpoint(out) or "")
            self.assertEqual(a["iteration"], b["iteration"])
            for key, value in a["model"].items():
                torch.testing.assert_close(b["model"][key], value, atol=1e-5, rtol=1e-4)

    def test_stop_at_check_exits_and_the_next_run_continues(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            data, out = os.path.join(d, "data"), os.path.join(d, "out")
            write_synthetic(data)
            first = events(subprocess.run(trainer(data, out, "--stop-at-check"), env=env(), capture_output=True, text=True, check=True).stdout)
            self.assertEqual([e["type"] for e in first if e["type"] != "progress"], ["check", "stopped"])
            self.assertEqual(first[-1]["iteration"], CHECK)
            check = next(e for e in first if e["type"] == "check")
            with open(check["scores"], encoding="utf-8") as f:
                scores = json.load(f)
            self.assertEqual(len(scores["frames"]), 6)
            self.assertTrue(all(0.0 <= s["uncertainFraction"] <= 1.0 and s["meanSigma"] > 0 for s in scores["frames"]))
            second = events(subprocess.run(trainer(data, out, "--stop-at-check"), env=env(), capture_output=True, text=True, check=True).stdout)
            self.assertEqual(second[0], {"type": "resumed", "iteration": CHECK, "checkpoint": check["checkpoint"]})
            self.assertEqual(second[-1]["iteration"], 2 * CHECK)


if __name__ == "__main__":
    unittest.main()
