"""Colourways keep a full-range texture inside the sRGB gamut when it is moved near white or black (issue 13:
"keep each colour's texture and shading ... don't flatten it"). A hard clip at the gamut flattens highlights or
shadows to one value; these tests fail when that happens."""
from __future__ import annotations

import numpy as np
import pytest

from garmentstyle import colourway as cw


def _twill(n: int = 128, seed: int = 0) -> np.ndarray:
    """``(n, n, 3)`` grey twill-like swatch in [0, 1]: a 45° rib of period 8 px spanning L* ≈ 8…93 (1st–99th
    percentile), yarn noise and a slow shading band, so its texture uses nearly the full lightness range."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n]
    v = 0.5 + 0.33 * np.sin(2 * np.pi * ((x + y) % 8) / 8) + 0.04 * rng.standard_normal((n, n))
    v = np.clip(v + 0.06 * np.sin(2 * np.pi * x / 37.0), 0.04, 0.96)
    return np.repeat(v[..., None], 3, axis=2)


def _clipped(rgb: np.ndarray) -> float:
    """Fraction of pixels with a channel at the sRGB bound (0 or 1, within half a code value)."""
    return float(((rgb >= 1.0 - 0.5 / 255) | (rgb <= 0.5 / 255)).any(-1).mean())


@pytest.mark.parametrize("colour", ["#ffffff", "#101010", "#f2e8d5"])
def test_full_range_texture_is_not_clipped_at_the_gamut(colour: str) -> None:
    img = _twill()
    assert _clipped(img) == 0.0  # the input itself is inside the gamut
    res = cw.recolour(img, colour)
    out = res.image[0].permute(1, 2, 0).numpy().astype(np.float64)
    assert _clipped(out) < 0.01, f"{100 * _clipped(out):.1f} % of pixels clipped at the sRGB gamut"
    assert cw.structure_iou(img, out) > 0.9
    assert cw.match_palette(res.image, colour).worst <= 3.0
    # the texture is moved, not flattened: its lightness spread is still visible
    assert np.percentile(cw.srgb_to_lab(out)[..., 0], 99) - np.percentile(cw.srgb_to_lab(out)[..., 0], 1) > 5.0
