"""The one canvas builder: every region's fabric where its labels are, placed exactly as swatch.tile places it."""
from __future__ import annotations

import pytest
import torch

from garmentstyle import swatch as swatch_ops
from garmentstyle.canvas import CanvasFrame, region_canvas, sample_region, stretch_sampler
from garmentstyle.transfer import RegionSpec


def _regions() -> list[RegionSpec]:
    g = torch.Generator().manual_seed(3)
    return [RegionSpec("a", torch.rand(1, 3, 24, 20, generator=g), zoom=1.3, rotation=17.0),
            RegionSpec("b", torch.rand(1, 3, 32, 32, generator=g), zoom=0.6)]


def _labels(H: int = 50, W: int = 70) -> torch.Tensor:
    lab = torch.full((H, W), -1, dtype=torch.long)
    lab[5:30, 8:40] = 0
    lab[20:48, 35:66] = 1
    return lab


@pytest.mark.parametrize("factor,shift", [(1.0, (0.0, 0.0)), (0.7, (0.5, 0.5)), (0.5, (0.25, 0.0))])
def test_canvas_equals_full_canvas_tiling_per_region(factor, shift):
    regions, lab = _regions(), _labels()
    origin = (31.5, 12.25)
    got = region_canvas(regions, lab, factor=factor, origin=origin, shift=shift)
    want = torch.zeros(1, 3, *lab.shape)
    for r, rg in enumerate(regions):  # the loops canvas.py replaced
        z = rg.zoom * factor
        o = (origin[0] + shift[0] * z * rg.swatch.shape[-1], origin[1] + shift[1] * z * rg.swatch.shape[-2])
        t = swatch_ops.tile(rg.swatch, tuple(lab.shape), zoom=z, rotation=rg.rotation, origin=o)
        want = torch.where(lab == r, t, want)
    assert got.shape == (1, 3, 50, 70)
    assert torch.allclose(got, want, atol=1e-5)
    assert (got[..., lab < 0] == 0).all()


def test_half_repeat_shift_is_another_sample():
    # unrotated, enlarged: a shift of one repeat along the canvas axes is exactly the same pattern
    regions = [RegionSpec("a", _regions()[0].swatch, zoom=1.5), RegionSpec("b", _regions()[1].swatch, zoom=2.0)]
    lab = _labels()
    a = region_canvas(regions, lab, origin=(10.0, 10.0))
    b = region_canvas(regions, lab, origin=(10.0, 10.0), shift=(0.5, 0.5))
    full = region_canvas(regions, lab, origin=(10.0, 10.0), shift=(1.0, 1.0))  # a whole repeat: the same pattern
    assert not torch.allclose(a, b, atol=1e-3)
    assert torch.allclose(a, full, atol=1e-4)


def test_mapping_is_called_with_region_box_frames():
    calls: list[CanvasFrame] = []

    class Flat:
        def sample(self, region, frame):
            calls.append(frame)
            ys, xs = frame.output_grid()
            return (xs / 100.0).clamp(0, 1).expand(1, 3, *frame.size)

    base = _regions()
    regions = [RegionSpec("a", base[0].swatch, zoom=1.0, mapping=Flat()), base[1]]
    lab = _labels()
    out = region_canvas(regions, lab, factor=0.5, offset=(100.0, 40.0))
    assert len(calls) == 1 and calls[0].size == (25, 32)
    # output coordinates: the box starts at canvas x=8 → output x = 100 + 8/0.5; pixel centres +0.5/0.5
    assert out[0, 0, 5, 8].item() == pytest.approx(min(1.0, (100 + 16 + 1) / 100.0))
    assert torch.allclose(out[..., lab == 1], region_canvas(base, lab, factor=0.5)[..., lab == 1])


def test_frame_crop_keeps_output_coordinates():
    f = CanvasFrame(size=(40, 60), factor=0.5, origin=(3.0, 4.0), offset=(10.0, 20.0))
    ys, xs = f.output_grid()
    c = f.crop(5, 25, 7, 30)
    cy, cx = c.output_grid()
    assert torch.allclose(cy, ys[5:25, 7:30]) and torch.allclose(cx, xs[5:25, 7:30])
    assert c.origin == (3.0 - 7, 4.0 - 5)


def test_stretch_sampler_fills_each_region_with_the_whole_swatch():
    regions, lab = _regions(), _labels()
    out = region_canvas(regions, lab, sampler=stretch_sampler, per_region_box=False)
    want = swatch_ops.stretch(regions[1].swatch, tuple(lab.shape))
    assert torch.allclose(out[..., lab == 1], want[..., lab == 1])


def test_sample_region_default_is_tile():
    rg = _regions()[0]
    frame = CanvasFrame(size=(16, 16), factor=2.0, origin=(1.0, 2.0))
    want = swatch_ops.tile(rg.swatch, (16, 16), zoom=rg.zoom * 2.0, rotation=rg.rotation, origin=(1.0, 2.0))
    assert torch.equal(sample_region(rg, frame), want)


@pytest.mark.parametrize("bad", [torch.zeros(4, 5), torch.zeros(1, 4, 5, dtype=torch.long),
                                 torch.zeros(4, 5, dtype=torch.bool)])
def test_bad_labels_raise(bad):
    with pytest.raises(ValueError):
        region_canvas(_regions(), bad)


def test_size_mismatch_raises():
    with pytest.raises(ValueError, match="does not match"):
        region_canvas(_regions(), _labels(), (10, 10))


@pytest.mark.parametrize("zoom", [0.37, 1.0, 2.6])
def test_axis_aligned_fast_path_equals_the_rotated_sampler_at_zero_degrees(zoom):
    from garmentstyle.swatch import _prefilter, _tile_rotated, _tile_separable

    sw = torch.rand(1, 3, 27, 33, generator=torch.Generator().manual_seed(5))
    src, z = _prefilter(sw, zoom)  # (down, across) zoom left
    for origin in ((0.0, 0.0), (17.3, -4.6)):
        want = _tile_rotated(src, (41, 58), z, 0.0, origin)
        assert torch.allclose(_tile_separable(src, (41, 58), z, origin), want, atol=1e-5)
        assert torch.equal(swatch_ops.tile(sw, (41, 58), zoom=zoom, origin=origin),
                           _tile_separable(src, (41, 58), z, origin))
