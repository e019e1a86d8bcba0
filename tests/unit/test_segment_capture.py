"""garmentstyle.testing.capture: the camera steps both degraded-image generators share."""
from __future__ import annotations

import numpy as np

from garmentstyle.testing.capture import jpeg_roundtrip, sensor_noise


def test_signal_dependent_noise_is_stronger_in_the_whites():
    img = np.concatenate([np.zeros((64, 64, 3)), np.ones((64, 64, 3))], axis=1)
    out = sensor_noise(img, 0.05, np.random.default_rng(0), signal_dependent=True)
    dark, light = (out - img)[:, :64].std(), (out - img)[:, 64:].std()
    assert 1.7 < light / dark < 2.3  # ×0.5 in the blacks, ×1 in the whites


def test_uniform_noise_keeps_the_dtype_and_its_sigma():
    img = np.full((128, 128, 3), 0.5, np.float32)
    out = sensor_noise(img, 0.02, np.random.default_rng(1))
    assert out.dtype == np.float32 and abs(float((out - img).std()) - 0.02) < 0.002


def test_jpeg_roundtrip_blocks_fine_detail_more_at_low_quality():
    rng = np.random.default_rng(2)
    u8 = (rng.random((96, 96, 3)) * 255).astype(np.uint8)
    lo, hi = jpeg_roundtrip(u8, 20), jpeg_roundtrip(u8, 95)
    assert lo.shape == u8.shape and lo.dtype == np.uint8
    err = lambda a: float(np.abs(a.astype(int) - u8).mean())  # noqa: E731
    assert err(hi) < err(lo)
