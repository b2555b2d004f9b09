import math
import unittest

import numpy as np
import torch

from streamedit_trainer.io_spec import model_size
from streamedit_trainer.losses import edge_aware_smoothness, laplace_nll
import torch.nn.functional as F

from streamedit_trainer.model import HornSchunck, PPCE, ModelConfig, _Correlation
from streamedit_trainer.warp import area_resize, backward_warp, resize_flow


class WarpTest(unittest.TestCase):
    def test_integer_translation_warps_exactly(self) -> None:
        src = torch.rand(1, 3, 20, 24)
        flow = torch.zeros(1, 2, 20, 24)
        flow[:, 0], flow[:, 1] = 3.0, -2.0  # sample the source at (x + 3, y − 2)
        out = backward_warp(src, flow)
        # interior pixels whose source lies inside the image are exact copies
        torch.testing.assert_close(out[:, :, 2:, :21], src[:, :, :18, 3:], rtol=0, atol=1e-6)
        # outside: border clamping repeats the edge
        torch.testing.assert_close(out[:, :, 0, 5], src[:, :, 0, 8], rtol=0, atol=1e-6)

    def test_half_pixel_is_the_mean_of_neighbours(self) -> None:
        src = torch.rand(1, 1, 8, 8)
        flow = torch.zeros(1, 2, 8, 8)
        flow[:, 0] = 0.5
        out = backward_warp(src, flow)
        torch.testing.assert_close(out[..., :7], (src[..., :7] + src[..., 1:]) / 2, rtol=0, atol=1e-6)

    def test_resize_flow_scales_displacements(self) -> None:
        flow = torch.full((1, 2, 4, 6), 1.5)
        up = resize_flow(flow, 8, 12)
        torch.testing.assert_close(up, torch.full((1, 2, 8, 12), 3.0))

    def test_area_resize_averages_blocks(self) -> None:
        img = torch.arange(16.0).view(1, 1, 4, 4)
        torch.testing.assert_close(area_resize(img, 2, 2), torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))

    def test_model_size_rounds_to_multiples_of_eight(self) -> None:
        self.assertEqual(model_size(512, 480, 256), (256, 240))
        self.assertEqual(model_size(480, 480, 256), (256, 256))
        self.assertEqual(model_size(1280, 720, 256), (256, 144))


class LossTest(unittest.TestCase):
    def test_laplace_nll_is_minimised_at_sigma_equal_residual(self) -> None:
        residual = torch.tensor([0.01, 0.1, 0.4])
        grid = torch.linspace(-7, 1, 8001).view(-1, 1)
        nll = laplace_nll(residual.view(1, -1).expand(grid.shape[0], -1), grid.expand(-1, 3))
        best = grid[nll.argmin(dim=0), 0]
        torch.testing.assert_close(best, torch.log(residual), atol=2e-3, rtol=0)

    def test_laplace_nll_does_not_move_the_residual(self) -> None:
        residual = torch.tensor([0.2], requires_grad=True)
        log_sigma = torch.tensor([0.0], requires_grad=True)
        laplace_nll(residual, log_sigma).sum().backward()
        self.assertIsNone(residual.grad)
        self.assertNotEqual(float(log_sigma.grad), 0.0)

    def test_smoothness_is_zero_for_constant_flow_and_damped_at_edges(self) -> None:
        image = torch.zeros(1, 3, 8, 8)
        self.assertEqual(float(edge_aware_smoothness(torch.ones(1, 2, 8, 8), image, 10.0)), 0.0)
        step = torch.zeros(1, 2, 8, 8)
        step[..., 4:] = 1.0
        edge = image.clone()
        edge[..., 4:] = 1.0
        self.assertLess(float(edge_aware_smoothness(step, edge, 10.0)), float(edge_aware_smoothness(step, image, 10.0)))


class ModelPartsTest(unittest.TestCase):
    def test_correlation_backward_matches_numerical_gradient(self) -> None:
        a = torch.rand(1, 3, 6, 7, dtype=torch.double, requires_grad=True)
        b = torch.rand(1, 3, 6, 7, dtype=torch.double, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda x, y: _Correlation.apply(x, y, 2), (a, b)))

    def test_horn_schunck_recovers_a_smooth_subpixel_motion_and_stays_there(self) -> None:
        torch.manual_seed(0)
        ref = F.avg_pool2d(torch.rand(1, 3, 70, 70), 7, stride=1)  # smooth texture, 64×64
        ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
        truth = torch.stack([1.5 * torch.sin(xs / 10), torch.cos(ys / 12)]).unsqueeze(0)
        cur = backward_warp(ref, truth)
        for iterations in (40, 80):  # converged, and stable: more iterations do not drift away
            flow = HornSchunck(iterations, alpha2=1e-3)(ref, cur, torch.zeros(1, 2, 64, 64))
            error = (flow - truth)[..., 4:-4, 4:-4].abs()
            self.assertLess(float(error.mean()), 0.02)
            self.assertLess(float(error.max()), 0.1)

    def test_edge_aware_window_keeps_a_motion_boundary_where_the_image_has_texture(self) -> None:
        torch.manual_seed(0)
        ref = F.avg_pool2d(torch.rand(1, 3, 70, 70), 7, stride=1)  # textured everywhere
        ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
        truth = torch.stack([torch.where(xs < 32, 0.8, -0.8), torch.zeros_like(xs)]).unsqueeze(0)  # two motions
        cur = backward_warp(ref, truth)

        def band_error(flat: float) -> float:  # the columns within 6 px of the boundary
            flow = HornSchunck(40, alpha2=1e-3, window=4, flat=flat)(ref, cur, torch.zeros(1, 2, 64, 64))
            return float((flow - truth)[..., 4:-4, 26:38].abs().mean())

        plain = band_error(0.0)  # the 9×9 window mixes both motions along the boundary
        self.assertLess(band_error(1e-4), 0.6 * plain)  # textured pixels keep their own system
        self.assertAlmostEqual(band_error(1e6), plain, places=4)  # a flat scale far above |∇I|² is the plain window

    def test_model_outputs_have_the_io_spec_shapes(self) -> None:
        cfg = ModelConfig(width=64, height=48, feat_channels=8, feat_width=8, feat_height=8, hidden4=16, hidden2=8)
        out = PPCE(cfg)(torch.rand(1, 3, 48, 64), torch.rand(1, 3, 48, 64), torch.rand(1, 8, 8, 8), torch.rand(1, 8, 8, 8), torch.zeros(1, 2, 48, 64))
        self.assertEqual(tuple(out["flow"].shape), (1, 2, 48, 64))
        self.assertEqual(tuple(out["log_sigma"].shape), (1, 1, 48, 64))
        self.assertTrue(bool(torch.isfinite(out["flow"]).all()))
        self.assertTrue(math.isfinite(float(out["log_sigma"].mean())))


if __name__ == "__main__":
    unittest.main()
