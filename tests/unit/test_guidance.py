"""Guides are eroded exactly: a cell counts iff its whole receptive field lies inside the region."""
from __future__ import annotations

import pytest
import torch

from garmentstyle import guidance
from garmentstyle.encoders.base import LayerGeometry
from garmentstyle.encoders.texture import TextureEncoder
from garmentstyle.encoders.vgg19 import VGG19Encoder


def _brute(mask: torch.Tensor, geom: LayerGeometry, h: int, w: int) -> torch.Tensor:
    H, W = mask.shape
    k = geom.field | 1
    out = torch.zeros(h, w)
    for i in range(h):
        for j in range(w):
            cy = min(max(round(i * geom.stride + geom.offset), 0), H - 1)
            cx = min(max(round(j * geom.stride + geom.offset), 0), W - 1)
            y0, y1, x0, x1 = cy - k // 2, cy + k // 2 + 1, cx - k // 2, cx + k // 2 + 1
            if y0 < 0 or x0 < 0 or y1 > H or x1 > W:
                continue
            out[i, j] = float(mask[y0:y1, x0:x1].min() >= 0.5)
    return out


@pytest.mark.parametrize("geom", [LayerGeometry(3, 1, 8), LayerGeometry(10, 2, 8, 0.5), LayerGeometry(24, 4, 8, 1.5)])
def test_erosion_matches_brute_force(geom):
    gen = torch.Generator().manual_seed(1)
    mask = (torch.rand(1, 6, 6, generator=gen) > 0.3).float()
    mask = torch.nn.functional.interpolate(mask[None], size=(48, 48), mode="nearest")[0]
    h, w = 48 // geom.stride, 48 // geom.stride
    got = guidance.propagate(mask, {"l": geom}, {"l": (h, w)})["l"][0]
    assert torch.equal(got, _brute(mask[0], geom, h, w))


def test_region_smaller_than_field_gives_empty_guide():
    mask = torch.zeros(1, 64, 64)
    mask[0, 20:30, 20:30] = 1
    g = guidance.propagate(mask, {"deep": LayerGeometry(40, 8, 4, 3.5)}, {"deep": (8, 8)})["deep"]
    assert float(g.sum()) == 0


def test_extra_erosion_and_dilation():
    mask = torch.zeros(1, 40, 40)
    mask[0, 5:35, 5:35] = 1
    geom = {"l": LayerGeometry(3, 1, 4)}
    base = guidance.propagate(mask, geom, {"l": (40, 40)})["l"]
    er = guidance.propagate(mask, geom, {"l": (40, 40)}, extra_erosion=2)["l"]
    di = guidance.propagate(mask, geom, {"l": (40, 40)}, extra_erosion=-1)["l"]
    assert er.sum() < base.sum() < di.sum() <= mask.sum()
    assert torch.all(er <= base) and torch.all(base <= di)


@pytest.mark.parametrize("encoder", [TextureEncoder(filters=16), VGG19Encoder(None)], ids=["texture", "vgg19"])
def test_declared_receptive_fields_cover_true_dependence(encoder):
    # The gradient of one central cell with respect to the input must vanish outside its declared field,
    # otherwise the "inside" erosion would let neurons that see outside the region count.
    size = 192 if encoder.name == "texture" else 224
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    feats = encoder(x)
    checked = 0
    for name, f in feats.items():
        geom = encoder.geometry[name]
        h, w = f.shape[-2:]
        i, j = h // 2, w // 2
        if encoder.name == "texture" and geom.field > size // 2:
            continue
        x.grad = None
        f[0, :, i, j].sum().backward(retain_graph=True)
        dep = x.grad[0].abs().sum(dim=0) > 0
        if not dep.any():  # every ReLU of this cell happens to be off for this input
            continue
        checked += 1
        ys, xs = torch.nonzero(dep, as_tuple=True)
        cy, cx = i * geom.stride + geom.offset, j * geom.stride + geom.offset
        half = (geom.field | 1) // 2 + 0.5
        assert float((ys.float() - cy).abs().max()) <= half + 0.51, name
        assert float((xs.float() - cx).abs().max()) <= half + 0.51, name
    assert checked >= len(feats) - 2


@pytest.mark.parametrize("k", [1, 3, 7, 23, 68])
def test_chessboard_depth_equals_the_min_filter(k):
    gen = torch.Generator().manual_seed(k)
    mask = (torch.rand(2, 9, 7, generator=gen) > 0.25).float()
    mask = torch.nn.functional.interpolate(mask[None], size=(90, 70), mode="nearest")[0]
    depth = guidance.chessboard_depth(mask)
    assert torch.equal((depth > (k | 1) // 2).float(), guidance.min_filter(mask, k))
