"""Ink stays ink: solid lines come out exactly as drawn (also under a mask that covers a thick outline), grey pencil
stays grey, light shading still multiplies the fabric, and the fabric reaches the lines."""
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from garmentstyle import finish, io, swatch
from garmentstyle.colour import luminance

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
FLUENT = ["fluent_coat", "fluent_dress", "fluent_jeans", "fluent_tshirt"]
RED_CHECK = torch.tensor([0.85, 0.1, 0.15]).view(1, 3, 1, 1)


def _gingham(size):
    """Red-and-white gingham ``(1, 3, *size)``: the checks a multiply used to show inside a black outline."""
    s = torch.zeros(1, 1, 32, 32)
    s[..., :16, :] += 0.5
    s[..., :, :16] += 0.5
    return swatch.tile((s * RED_CHECK + (1 - s)).clamp(0, 1), size)


@pytest.mark.parametrize("name", FLUENT)
def test_thick_outlines_stay_ink_and_the_fabric_reaches_them(name):
    if not (DATA / "sketches" / f"{name}.png").is_file():
        pytest.skip(f"{DATA} not present (the shared real-sketch set)")
    sk = io.load_image(DATA / "sketches" / f"{name}.png")
    mask = io.load_mask(DATA / "masks" / f"{name}__garment.png")
    H, W = mask.shape
    fabric = _gingham((H, W))
    alphas = finish.region_alphas(mask[None])
    out = finish.compose(sk, fabric, alphas)
    lum = luminance(sk)[0, 0]
    inside = mask.numpy() >= 0.5
    solid = (lum.numpy() <= 0.3 * float(lum.max())) & inside
    assert solid.sum() > 1000  # the mask does cover the thick outline
    diff = (out - sk).abs().amax(1)[0].numpy()
    assert (diff[solid] <= 12 / 255).mean() >= 0.98
    # the fabric reaches the lines: paper-white pixels just inside the garment, next to the ink, show the fabric
    white = lum.numpy() >= 0.95 * float(lum.max())
    band = white & inside & (ndimage.distance_transform_edt(~solid) <= 3) & (ndimage.distance_transform_edt(inside) > 2)
    fab_gap = (out - fabric).abs().amax(1)[0].numpy()[band]
    assert band.sum() > 200 and (fab_gap < 0.1).mean() > 0.95
    # the old multiply would have shown the checks inside the line; the ink does not
    old = fabric * finish.shading_map(sk)
    assert (old - sk).abs().amax(1)[0].numpy()[solid].mean() > 3 * diff[solid].mean()


def _synthetic():
    sk = torch.ones(1, 3, 120, 160)
    sk[..., 20:100, 30:33] = 0.55  # a grey pencil line, 3 px
    sk[..., 20:100, 60:64] = 0.05  # a black pen line
    sk[..., 20:100, 90:150] = 0.8  # a broad marker shading
    return sk


def test_grey_pencil_stays_grey_and_shading_multiplies():
    sk = _synthetic()
    fabric = torch.ones(1, 3, 120, 160) * RED_CHECK
    out = finish.compose(sk, fabric, torch.ones(1, 120, 160), ink=None)
    pencil = out[0, :, 30:90, 31]
    assert float((pencil - 0.55).abs().max()) < 0.03  # grey as drawn, not a dark red line
    assert float((out[0, :, 30:90, 61] - 0.05).abs().max()) < 2 / 255
    shade = out[0, :, 30:90, 100:140].reshape(3, -1)
    assert torch.allclose(shade, (RED_CHECK.view(3, 1) * 0.8).expand_as(shade), atol=0.02)
    assert torch.allclose(out[0, :, 5, 5], RED_CHECK.view(3), atol=1e-4)  # paper: the fabric itself


def test_an_ink_map_given_is_used_and_outside_stays_the_sketch():
    sk = _synthetic()
    fabric = torch.rand(1, 3, 120, 160)
    alphas = torch.zeros(1, 120, 160)
    alphas[0, 10:110, 10:80] = 1
    ink = torch.zeros(120, 160)
    ink[:, 60:64] = 1.0  # only the pen line is ink; the pencil multiplies
    out = finish.compose(sk, fabric, alphas, ink=ink)
    assert torch.equal(out[..., :, 85:], sk[..., :, 85:])
    assert torch.allclose(out[..., 30:90, 60:64], sk[..., 30:90, 60:64])
    assert torch.allclose(out[..., 30:90, 30:33], (fabric * finish.shading_map(sk))[..., 30:90, 30:33], atol=1e-5)
    assert torch.equal(finish.compose(sk, fabric, alphas, keep_sketch=False)[..., 30:90, 60:64],
                       fabric[..., 30:90, 60:64])


def test_ink_map_range_and_no_nan_on_a_blank_or_black_page():
    for sk in (torch.ones(1, 3, 40, 40), torch.zeros(1, 3, 40, 40), torch.rand(1, 3, 40, 40)):
        ink = finish.ink_map(sk)
        assert ink.shape == (1, 1, 40, 40) and torch.isfinite(ink).all() and ink.min() >= 0 and ink.max() <= 1
    assert float(finish.ink_map(torch.ones(1, 3, 40, 40)).max()) == 0.0
