import unittest

from streamedit_trainer.model import PPCE, ModelConfig


class ModelConfigTest(unittest.TestCase):
    def test_a_checkpoint_gets_todays_horn_schunck_settings_and_keeps_its_architecture(self) -> None:
        saved = ModelConfig(width=64, height=48, coarse_hidden=16, hs_window_half=9, hs_iters_full=7, hs_robust=0.5).to_dict()
        cfg = ModelConfig.from_checkpoint(saved)
        today = ModelConfig()
        self.assertEqual((cfg.width, cfg.height, cfg.coarse_hidden), (64, 48, 16))
        self.assertEqual((cfg.hs_window_half, cfg.hs_iters_full, cfg.hs_robust), (today.hs_window_half, today.hs_iters_full, today.hs_robust))
        self.assertEqual(ModelConfig.from_checkpoint(saved, hs_iters_full=0).hs_iters_full, 0)
        # the Horn-Schunck settings are not architecture: the same weights load under either
        self.assertEqual(cfg.architecture(), ModelConfig(**saved).architecture())  # type: ignore[arg-type]
        self.assertNotIn("hs_robust", cfg.architecture())
        PPCE(cfg).load_state_dict(PPCE(ModelConfig(**saved)).state_dict())  # type: ignore[arg-type]
        model = PPCE(cfg)
        self.assertEqual((model.hs_half.robust, model.hs_internal.alpha2), (today.hs_robust, today.hs_alpha2))


if __name__ == "__main__":
    unittest.main()
