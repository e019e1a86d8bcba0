"""Swatch tiling, colour control and option validation."""
from __future__ import annotations

import pytest
import torch

from garmentstyle import colour, swatch
from garmentstyle.errors import InputError, OptionsError
from garmentstyle.transfer import RenderOptions, level_factors


def test_tile_repeats_exactly_at_zoom_one():
    s = torch.rand(1, 3, 16, 20)
    t = swatch.tile(s, (40, 60), origin=(0, 0))
    assert torch.allclose(t[..., :16, :20], s) and torch.allclose(t[..., 16:32, 40:60], s)


def test_tile_zoom_scales_the_period():
    s = torch.zeros(1, 3, 16, 16)
    s[..., :, :8] = 1.0  # vertical bars, period 16
    t = swatch.tile(s, (64, 64), zoom=2.0, origin=(0, 0))
    row = t[0, 0, 10]
    assert torch.allclose(row[:64], torch.roll(row, 32)[:64], atol=1e-5)  # period 32 at zoom 2
    assert not torch.allclose(row, torch.roll(row, 16), atol=0.1)


def test_tile_rotation_90_turns_stripes():
    s = torch.zeros(1, 3, 16, 16)
    s[..., :8, :] = 1.0  # horizontal stripes
    t = swatch.tile(s, (64, 64), rotation=90.0)
    assert t[0, 0, :, 30].std() < 0.05  # constant down a column: the stripes now run vertically
    assert t[0, 0, 30, :].std() > 0.3


def test_shrinking_is_antialiased_and_tileable():
    s = torch.zeros(1, 3, 64, 64)
    s[..., ::2, :] = 1.0  # 1-px lines alias badly without a prefilter
    t = swatch.tile(s, (32, 32), zoom=0.25)
    assert abs(float(t.mean()) - 0.5) < 0.05 and float(t.std()) < 0.1


def test_small_swatch_is_refused():
    with pytest.raises(InputError, match="at least 16"):
        swatch.check_swatch(torch.rand(1, 3, 10, 40))


def test_yiq_roundtrip_and_luminance_combination():
    x = torch.rand(1, 3, 8, 8)
    assert torch.allclose(colour.yiq_to_rgb(colour.rgb_to_yiq(x)), x, atol=1e-5)
    grey = torch.full((1, 3, 8, 8), 0.5)
    out = colour.combine_luminance(colour.luminance(x), grey)
    assert torch.allclose(out[:, 0], out[:, 1], atol=1e-5)  # colour comes from the (grey) sketch


def test_luminance_is_the_rec601_weighted_sum_bit_for_bit():
    g = torch.Generator().manual_seed(3)
    for shape in [(1, 3, 37, 29), (2, 3, 16, 64)]:
        x = torch.rand(shape, generator=g)
        ref = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        assert colour.luminance(x).shape == (shape[0], 1, *shape[2:])
        assert torch.equal(colour.luminance(x), ref)
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    colour.luminance(x).sum().backward()  # used inside the optimisation (luminance-only renders)
    assert torch.allclose(x.grad[0, :, 0, 0], torch.tensor([0.299, 0.587, 0.114]))


def test_histogram_matching_matches_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    src = torch.rand(1, 3, 32, 32, generator=g) * 0.5
    ref = torch.rand(1, 3, 32, 32, generator=g)
    ref[:, 0] = ref[:, 0] * 0.3 + 0.6
    ref[:, 1] = ref[:, 0] * 0.5 + 0.1
    out = colour.match_histogram(src, ref)
    o, r = out[0].reshape(3, -1), ref[0].reshape(3, -1)
    assert torch.allclose(o.mean(1), r.mean(1), atol=0.02)
    assert torch.allclose(torch.cov(o), torch.cov(r), atol=0.01)


@pytest.mark.parametrize("kw", [dict(encoder="resnet"), dict(init="zeros"), dict(colour="sepia"), dict(size=8),
                                dict(iterations=-1), dict(shading_strength=2.0), dict(tv_weight=float("nan")),
                                dict(optimizer="sgd"), dict(levels=20)])
def test_bad_options_rejected_before_anything_loads(kw):
    with pytest.raises(OptionsError):
        RenderOptions(**kw)


def test_options_dict_roundtrip_and_unknown_keys():
    o = RenderOptions(size=300, seed=7, colour="luminance")
    assert RenderOptions.from_dict(o.to_dict()) == o
    with pytest.raises(OptionsError, match="unknown render option"):
        RenderOptions.from_dict({"sizee": 3})


def test_levels_step_by_sqrt2_down_to_a_useful_size():
    f = level_factors(1024)
    assert f[-1] == 1.0 and all(abs(b / a - 2 ** 0.5) < 1e-6 for a, b in zip(f, f[1:]))
    assert 1024 * f[0] >= 150
    assert level_factors(128) == [1.0]


def test_make_tileable_removes_the_wrap_seam_and_keeps_the_centre():
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(64, 64), mode="bicubic",
                                             align_corners=True).clamp(0, 1)  # cloth-like, not periodic
    x = smooth[..., :48, :48].contiguous()

    def wrap_vs_inner(t):
        inner = (t[..., :, 1:] - t[..., :, :-1]).abs().mean()
        wrap = (t[..., :, 0] - t[..., :, -1]).abs().mean()
        return float(wrap / inner)

    assert wrap_vs_inner(x) > 3  # cut from a larger piece: a visible seam
    t = swatch.make_tileable(x)
    assert wrap_vs_inner(t) < 2
    assert torch.allclose(t[..., 12:36, 12:36], x[..., 12:36, 12:36])  # the centre is untouched
    with pytest.raises(InputError):
        swatch.make_tileable(x, band=0.9)
