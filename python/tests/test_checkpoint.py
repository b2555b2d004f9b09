import os
import tempfile
import unittest

import numpy as np
import torch

from streamedit_trainer.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from streamedit_trainer.data import DataError, read_training_data
from tests.synthetic import write_synthetic


class CheckpointTest(unittest.TestCase):
    def test_round_trip_keeps_tensors_and_rng_states(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            rng = np.random.default_rng(3)
            state = {"iteration": 7, "weights": torch.randn(4, 4), "rng": {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}}
            path = save_checkpoint(d, 7, state)
            loaded = load_checkpoint(path)
            self.assertEqual(loaded["iteration"], 7)
            torch.testing.assert_close(loaded["weights"], state["weights"])
            restored = np.random.default_rng(0)
            restored.bit_generator.state = loaded["rng"]["numpy"]
            self.assertEqual(restored.integers(1 << 30), rng.integers(1 << 30))
            self.assertEqual(sorted(os.listdir(d)), ["checkpoint-00000007.pt", "checkpoint-00000007.pt.sha256"])

    def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            first = save_checkpoint(d, 5, {"iteration": 5})
            second = save_checkpoint(d, 10, {"iteration": 10})
            self.assertEqual(latest_checkpoint(d), second)
            with open(second, "r+b") as f:  # a torn write
                f.truncate(10)
            self.assertEqual(latest_checkpoint(d), first)
            with self.assertRaises(ValueError):
                load_checkpoint(second)
            os.remove(first + ".sha256")  # a kill between the file and its sidecar
            self.assertIsNone(latest_checkpoint(d))


class DataTest(unittest.TestCase):
    def test_written_directory_reads_back(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            write_synthetic(d, count=4, size=32)
            data = read_training_data(d)
            self.assertEqual(data.frames.shape, (4, 32, 32, 3))
            self.assertEqual(data.features.shape, (4, 8, 8, 8))
            self.assertEqual(data.init_size, (32, 32))
            self.assertEqual(data.reference_frame(3), 0)
            self.assertIsNotNone(data.masks)

    def test_a_truncated_array_names_the_file(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            write_synthetic(d, count=4, size=32)
            with open(os.path.join(d, "features.f32"), "r+b") as f:
                f.truncate(100)
            with self.assertRaisesRegex(DataError, "features.f32"):
                read_training_data(d)


if __name__ == "__main__":
    unittest.main()
