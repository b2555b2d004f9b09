"""The streaming split: a trainer given `trainFrames` never trains on a later frame (they are the unseen test set)."""
import json
import os
import tempfile
import unittest
from typing import List

from streamedit_trainer.data import DataError, read_training_data
from streamedit_trainer.train import Trainer, TrainOptions, preset_with
from tests.synthetic import write_synthetic


class StreamingSplitTest(unittest.TestCase):
    def test_the_trainer_samples_only_the_first_train_frames(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "data")
            write_synthetic(data, count=6, size=32, train_frames=3)
            trainer = Trainer(TrainOptions(data, os.path.join(d, "out"), preset_with("tiny", 40, 40)))
            sampled: List[int] = []
            pair = trainer.source.pair

            def recording(t: int):  # type: ignore[no-untyped-def]
                sampled.append(t)
                return pair(t)

            trainer.source.pair = recording  # type: ignore[method-assign]
            for _ in range(40):
                trainer.step()
            self.assertEqual(len(sampled), 40)
            self.assertLess(max(sampled), 3)
            self.assertEqual(len(set(sampled)), 3)

    def test_without_train_frames_every_frame_is_sampled(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            write_synthetic(d, count=6, size=32)
            self.assertEqual(read_training_data(d).train_count, 6)

    def test_a_train_frames_outside_the_clip_is_refused(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            write_synthetic(d, count=6, size=32, train_frames=7)
            with self.assertRaisesRegex(DataError, "trainFrames 7"):
                read_training_data(d)
            with open(os.path.join(d, "references.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["trainFrames"], 7)


if __name__ == "__main__":
    unittest.main()
