"""How a swatch is sampled onto the canvas (``swatch.tile``): against a band-limited periodic pattern whose value is
known everywhere, the tiled canvas must match that value at every pixel centre, with the same contrast in every part
of the canvas — a repeat laid at a fractional size used to come out in bands of sharp and soft texture (bilinear:
0.83 of the true contrast between source pixels), and a shrunk repeat a little too tall."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from garmentstyle import swatch


def _waves(h: int, w: int, max_freq: float, seed: int = 0):
    """A periodic ``h × w`` pattern of 12 cosines up to ``max_freq`` cycles per px, and the function itself."""
    g = np.random.default_rng(seed)
    comps = [(g.integers(-int(max_freq * w), int(max_freq * w) + 1),
              g.integers(-int(max_freq * h), int(max_freq * h) + 1), g.uniform(0, 2 * np.pi)) for _ in range(12)]

    def f(x, y):
        return 0.5 + sum(0.4 / 6 * np.cos(2 * np.pi * (kx * x / w + ky * y / h) + ph) for kx, ky, ph in comps)

    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    sw = torch.tensor(np.repeat(f(xx, yy)[None, None], 3, 1), dtype=torch.float32)
    return sw, f


def _truth(f, size, zoom, origin=(0.0, 0.0)):
    Y, X = np.mgrid[0:size[0], 0:size[1]].astype(float)
    return f((X + 0.5 - origin[0]) / zoom - 0.5, (Y + 0.5 - origin[1]) / zoom - 0.5)


@pytest.mark.parametrize("zoom", [1.07, 1.3, 2.6])
def test_an_enlarged_repeat_has_its_true_values_and_the_same_contrast_everywhere(zoom):
    sw, f = _waves(48, 40, 0.25)
    size = (96, 160)
    got = swatch.tile(sw, size, zoom=zoom, origin=(0.0, 0.0))[0, 0].numpy()
    truth = _truth(f, size, zoom)
    assert np.sqrt(((got - truth) ** 2).mean()) < 0.01  # bilinear: 0.033
    contrast = got.reshape(96, 10, 16).std((0, 2)) / truth.reshape(96, 10, 16).std((0, 2))  # 16-px strips
    assert contrast.min() > 0.97 and contrast.max() < 1.03, contrast  # bilinear: 0.83–0.84 in every strip


def test_a_rotated_repeat_is_sampled_as_well_as_a_straight_one():
    sw, f = _waves(48, 40, 0.25, seed=3)
    size, zoom, th = (80, 120), 1.3, np.radians(17.0)
    got = swatch.tile(sw, size, zoom=zoom, rotation=17.0, origin=(0.0, 0.0))[0, 0].numpy()
    Y, X = np.mgrid[0:size[0], 0:size[1]].astype(float) + 0.5
    c, s = np.cos(th), np.sin(th)
    truth = f((c * X - s * Y) / zoom - 0.5, (s * X + c * Y) / zoom - 0.5)
    assert np.sqrt(((got - truth) ** 2).mean()) < 0.01


@pytest.mark.parametrize("zoom", [0.93, 0.6])
def test_a_shrunk_repeat_is_exactly_side_times_zoom_both_ways(zoom):
    """48×40 px at 0.93 is resampled to 45×37 px: 45 / 48 ≠ 37 / 40, and one zoom for both axes drifted the rows
    by 1.3 % per repeat (rms error 0.09 on low frequencies)."""
    sw, f = _waves(48, 40, 0.12, seed=1)
    size = (192, 160)
    got = swatch.tile(sw, size, zoom=zoom, origin=(0.0, 0.0))[0, 0].numpy()
    assert np.sqrt(((got - _truth(f, size, zoom)) ** 2).mean()) < 0.02


def test_a_coordinate_just_below_the_period_wraps_without_reading_outside_it():
    src = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(2))
    eps = torch.tensor([[-1e-7, -3e-8]])
    below = swatch.wrap_sample(src, eps, eps)
    at_zero = swatch.wrap_sample(src, torch.zeros(1, 2), torch.zeros(1, 2))
    assert torch.allclose(below, at_zero, atol=1e-4)


def test_the_shrink_prefilter_keeps_the_swatch_periodic_and_in_place():
    """A pattern already band-limited for the smaller size comes back as its own samples at the new pixel
    centres, with no shift and no seam at the wrap."""
    sw, f = _waves(64, 48, 0.1, seed=4)
    small, zooms = swatch._prefilter(sw, 0.55)
    nh, nw = small.shape[-2:]
    assert (nh, nw) == (35, 26) and zooms == pytest.approx((0.55 * 64 / 35, 0.55 * 48 / 26))
    Y, X = np.mgrid[0:nh, 0:nw].astype(float)
    truth = f((X + 0.5) * 48 / nw - 0.5, (Y + 0.5) * 64 / nh - 0.5)
    assert np.abs(small[0, 0].numpy() - truth).max() < 0.03
