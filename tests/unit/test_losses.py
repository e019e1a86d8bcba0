"""Loss terms against plain references, and the guided Gram's independence from region area."""
from __future__ import annotations

import torch

from garmentstyle import losses


def test_gram_matches_reference():
    f = torch.randn(1, 5, 7, 9)
    ref = torch.einsum("chw,dhw->cd", f[0], f[0]) / (7 * 9)
    assert torch.allclose(losses.gram(f)[0], ref, atol=1e-5)


def test_guided_gram_with_full_guide_is_plain_gram():
    f = torch.randn(1, 4, 6, 6)
    g, valid = losses.guided_gram(f, torch.ones(1, 6, 6))
    assert bool(valid[0]) and torch.allclose(g[0], losses.gram(f)[0], atol=1e-5)


def test_guided_gram_weights_by_squared_guide():
    f = torch.randn(1, 3, 4, 4)
    t = torch.rand(1, 4, 4)
    w = t[0].square()
    ref = torch.einsum("chw,dhw,hw->cd", f[0], f[0], w) / w.sum()
    g, _ = losses.guided_gram(f, t)
    assert torch.allclose(g[0], ref, atol=1e-5)


def test_guided_gram_does_not_depend_on_region_area():
    # A stationary "texture": one random 8×8 tile repeated. A sleeve-sized and a bodice-sized region see the same
    # statistics, so their guided Grams (and losses against one target) agree.
    tile = torch.randn(1, 6, 8, 8)
    f = tile.repeat(1, 1, 8, 8)  # 64 × 64
    small = torch.zeros(1, 64, 64)
    small[0, :16, :16] = 1
    large = torch.zeros(1, 64, 64)
    large[0, :48, :48] = 1
    target = losses.gram(tile)[0] * 1.3
    gs, _ = losses.guided_gram(f, small)
    gl, _ = losses.guided_gram(f, large)
    assert torch.allclose(gs, gl, atol=1e-4)
    ls, ll = losses.gram_loss(gs[0], target), losses.gram_loss(gl[0], target)
    assert abs(float(ls) - float(ll)) < 1e-4 * float(ll)
    # whereas normalising by H·W (as one library does) would make the small region's statistics 9× weaker
    hw_norm_small = gs[0] * small.sum() / (64 * 64)
    hw_norm_large = gl[0] * large.sum() / (64 * 64)
    assert float(hw_norm_large.norm() / hw_norm_small.norm()) > 8


def test_empty_guide_is_invalid_not_nan():
    f = torch.randn(1, 3, 5, 5)
    g, valid = losses.guided_gram(f, torch.zeros(2, 5, 5))
    assert not valid.any() and torch.isfinite(g).all() and float(g.abs().sum()) == 0


def test_gradient_flows_only_through_guided_positions():
    f = torch.randn(1, 3, 6, 6, requires_grad=True)
    guide = torch.zeros(1, 6, 6)
    guide[0, 2:4, 2:4] = 1
    g, _ = losses.guided_gram(f, guide)
    g.sum().backward()
    outside = f.grad[0].abs().sum(dim=0) * (1 - guide[0])
    assert float(outside.sum()) == 0 and float(f.grad.abs().sum()) > 0


def test_content_and_tv():
    a = torch.randn(1, 4, 5, 5)
    guide = torch.zeros(5, 5)
    assert float(losses.content_loss(a, a + 1, guide)) == 0  # empty guide → 0, no division by zero
    guide[1:3, 1:3] = 1
    assert abs(float(losses.content_loss(a, a + 1, guide)) - 1.0) < 1e-6
    flat = torch.full((1, 3, 6, 6), 0.5)
    assert float(losses.tv_loss(flat)) == 0
    noisy = flat + 0.1 * torch.randn_like(flat)
    assert float(losses.tv_loss(noisy)) > 0
    only = torch.zeros(6, 6)
    assert float(losses.tv_loss(noisy, only)) == 0


def test_guided_gram_of_scattered_soft_regions_matches_the_explicit_sum():
    # Each region's Gram is taken over its guide's bounding box only: cells outside it (and zero cells inside it)
    # must not change the value, for guides made of separate soft blobs, in several regions, with an empty one.
    torch.manual_seed(3)
    f = torch.randn(1, 5, 12, 10, dtype=torch.float64)
    guides = torch.zeros(3, 12, 10, dtype=torch.float64)
    guides[0, 1:3, 1:4] = 0.7
    guides[0, 9:12, 6:10] = torch.rand(3, 4, dtype=torch.float64)  # far from the first blob: a box with holes
    guides[1, 5, 5] = 1.0
    guides[1, 0, 9] = 2.0  # min_mass 1 needs a little mass
    g, valid = losses.guided_gram(f, guides)
    assert valid.tolist() == [True, True, False]
    for r in range(2):
        w = guides[r].square()
        ref = torch.einsum("chw,dhw,hw->cd", f[0], f[0], w) / w.sum()
        assert torch.allclose(g[r], ref, rtol=1e-12, atol=1e-12)
    assert float(g[2].abs().sum()) == 0
