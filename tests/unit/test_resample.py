"""``resample.bilinear``: OpenCV when enlarging on the CPU, torch's antialiased kernel otherwise; both must give
torch's ``F.interpolate(bilinear, antialias=True, align_corners=False)`` image (the render's resampling before)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from garmentstyle.resample import bilinear


def _torch(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)


@pytest.mark.parametrize("shape,size", [((1, 3, 77, 64), (160, 133)),   # enlarged both ways (OpenCV)
                                        ((2, 1, 9, 13), (40, 13)),       # one side unchanged (OpenCV)
                                        ((1, 3, 120, 90), (60, 45)),     # shrunk (torch, antialiased)
                                        ((1, 3, 50, 50), (100, 25))])    # mixed (torch)
def test_matches_torch_antialiased_bilinear(shape, size):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    out = bilinear(x, size)
    assert out.shape == (*shape[:2], *size) and out.dtype == x.dtype
    assert torch.allclose(out, _torch(x, size), atol=5e-5, rtol=0)


def test_same_size_is_the_input_and_grad_or_float64_take_torch():
    x = torch.rand(1, 3, 8, 8)
    assert bilinear(x, (8, 8)) is x
    g = torch.rand(1, 3, 8, 8, requires_grad=True)
    y = bilinear(g, (16, 16))
    y.sum().backward()  # differentiable: torch's kernel, not a numpy round trip
    assert g.grad is not None and g.grad.abs().sum() > 0
    d = torch.rand(1, 1, 5, 5, dtype=torch.float64)
    assert bilinear(d, (10, 10)).dtype == torch.float64
    assert torch.equal(bilinear(d, (10, 10)), _torch(d, (10, 10)))


def test_does_not_change_its_input():
    x = torch.rand(1, 3, 10, 12)
    before = x.clone()
    bilinear(x, (30, 31))
    assert torch.equal(x, before)
