"""Grain mapping: stripes follow radiating seams (auto) and drawn grain strokes, measured with a structure-tensor
orientation estimate against the known grain; straight is today's tiling exactly; bad strokes never give NaN."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from garmentstyle import io, mapping, swatch
from garmentstyle.canvas import CanvasFrame
from garmentstyle.errors import InputError
from garmentstyle.mapping import param, synthetic
from garmentstyle.mapping.orient import axis_difference

ROOT = Path(__file__).resolve().parents[2]


def _angles(m, syn, size):
    fab = m.preview(synthetic.stripes(), zoom=1.0, size=size)
    assert torch.isfinite(fab).all()
    return axis_difference(synthetic.stripe_axis(fab), syn.grain)[syn.measure]


@pytest.fixture(scope="module")
def skirt():
    return synthetic.flared_skirt(360)


def test_auto_follows_radiating_seams(skirt):
    size = skirt.mask.shape
    straight = np.median(_angles(mapping.build(skirt.mask, skirt.sketch, grain="straight"), skirt, size))
    m = mapping.build(skirt.mask, skirt.sketch, grain="auto")
    auto = np.median(_angles(m, skirt, size))
    assert m.stats.source == "auto" and not m.notes
    assert straight > 9.0  # the seams fan out 0, ±12, ±24°: a straight tiling is off by ~12° there
    assert auto < 3.0


def test_auto_follows_the_dress_skirt_seams():
    sk = io.load_image(ROOT / "samples/sketches/dress.png")
    mask = io.load_mask(ROOT / "samples/masks/dress__skirt.png")
    lum = sk[0].mean(0).numpy()
    from scipy import ndimage
    from garmentstyle.mapping.orient import orientation

    region = mask.numpy() >= 0.5
    inner = ndimage.distance_transform_edt(region) > 8
    seam = (lum < 0.5) & inner
    seam_axis = orientation(seam.astype(float), sigma=1, rho=2).axis
    dist, (iy, ix) = ndimage.distance_transform_edt(~seam, return_indices=True)
    along = np.abs(np.degrees(0.5 * np.angle(seam_axis[iy, ix]))) > 45  # the panel seams, not the hem scallops
    near = (dist >= 4) & (dist <= 14) & inner & along
    out = {}
    for grain in ("straight", "auto"):
        fab = mapping.build(mask, sk, grain=grain).preview(synthetic.stripes(), zoom=1.0, size=tuple(mask.shape))
        out[grain] = float(np.median(axis_difference(synthetic.stripe_axis(fab), seam_axis[iy, ix])[near]))
    assert out["straight"] > 7.0 and out["auto"] < 3.5, out


def test_strokes_bend_the_stripes_along_a_curved_sleeve(tmp_path):
    syn = synthetic.curved_sleeve()
    size = syn.mask.shape
    straight = np.median(_angles(mapping.build(syn.mask, syn.sketch), syn, size))
    path = tmp_path / "grain.png"
    Image.fromarray(syn.strokes).save(path)
    m = mapping.build(syn.mask, syn.sketch, grain=str(path))
    assert m.stats.source == "strokes"
    strokes = np.median(_angles(m, syn, size))
    assert straight > 35.0 and strokes < 3.0, (straight, strokes)
    assert m.stats.stretch[1] < 1.6  # the bend widens the outer side of the sleeve, nothing more


def test_straight_is_exactly_the_plain_tiling():
    sw = torch.rand(1, 3, 40, 32)
    mask = torch.zeros(120, 150)
    mask[20:100, 30:130] = 1
    sketch = torch.ones(1, 3, 120, 150)
    frame = CanvasFrame(size=(120, 150), factor=0.5, origin=(37.5, 30.0), offset=(0.0, 0.0))
    tiled = swatch.tile(sw, frame.size, zoom=1.5 * 0.5, rotation=20.0, origin=frame.origin)
    m = mapping.build(mask, sketch, grain="straight", rotation=20.0)
    assert torch.allclose(m.sample_swatch(sw, zoom=1.5, frame=frame), tiled, atol=1e-4)


def test_a_straight_field_through_the_solver_is_the_plain_tiling():
    Y, X = np.mgrid[0:40, 0:50] * 3.0 + 1.5
    theta = param.warp_angle(30.0)
    fit = param.solve(np.full((40, 50), theta), np.ones((40, 50), bool), cell=3.0, X=X, Y=Y, reference=theta)
    U0, V0 = param.straight_coordinates(X, Y, theta)
    assert np.abs(fit.U - U0).max() < 1e-3 and np.abs(fit.V - V0).max() < 1e-3
    assert fit.stretch[1] == pytest.approx(1.0, abs=1e-3)


def test_preview_and_final_agree_across_sizes(skirt):
    """The mapping built at half size and at full size lays the pattern at the same place on the garment."""
    big = mapping.build(skirt.mask, skirt.sketch, grain="auto")
    small_mask = torch.nn.functional.interpolate(torch.from_numpy(skirt.mask)[None, None], scale_factor=0.5,
                                                 mode="area")[0, 0]
    small_sk = torch.nn.functional.interpolate(torch.from_numpy(skirt.sketch)[None, None], scale_factor=0.5,
                                               mode="area")[0, 0]
    small = mapping.build(small_mask, small_sk.numpy(), grain="auto")
    H, W = skirt.mask.shape
    fb = CanvasFrame(size=(H, W), origin=(W / 2, H / 2))
    fs = CanvasFrame(size=(H // 2, W // 2), origin=(W / 4, H / 4))
    ub, vb = big.coordinates(fb, zoom=2.0, swatch_size=(24, 24))
    us, vs = small.coordinates(fs, zoom=1.0, swatch_size=(24, 24))
    inside = torch.from_numpy(skirt.measure[::2, ::2])
    du = (ub[::2, ::2] - us)[inside].abs().median()  # swatch px: the same fabric point within a fraction of a px
    dv = (vb[::2, ::2] - vs)[inside].abs().median()
    assert float(du) < 1.0 and float(dv) < 1.0


def test_region_without_interior_lines_keeps_straight_and_says_so():
    mask = np.zeros((200, 200), np.float32)
    mask[30:170, 40:160] = 1
    sketch = synthetic._outline(mask > 0, 3).astype(np.float32) / 255
    m = mapping.build(mask, sketch, grain="auto", rotation=10.0)
    assert m.stats.source == "straight (fallback)" and "kept the straight grain" in m.notes[0]
    frame = CanvasFrame(size=(200, 200), origin=(100.0, 100.0))
    sw = torch.rand(1, 3, 24, 24)
    assert torch.allclose(m.sample_swatch(sw, zoom=1.0, frame=frame),
                          swatch.tile(sw, (200, 200), rotation=10.0), atol=1e-4)


def _sleeve_with(strokes):
    syn = synthetic.curved_sleeve()
    return mapping.build(syn.mask, syn.sketch, grain=strokes), syn


def test_strokes_outside_the_region_fall_back_with_a_note():
    syn = synthetic.curved_sleeve()
    s = np.full(syn.strokes.shape, 255, np.uint8)
    s[300:340, 5:40] = (0, 0, 255)  # far outside the sleeve
    m = mapping.build(syn.mask, syn.sketch, grain=s)
    assert m.stats.source == "straight (fallback)" and "no grain stroke lies on the region" in m.notes[0]


def test_a_single_dot_falls_back_with_a_note():
    syn = synthetic.curved_sleeve()
    s = np.full(syn.strokes.shape, 255, np.uint8)
    ys, xs = np.nonzero(syn.measure)
    y, x = ys[len(ys) // 2], xs[len(xs) // 2]
    s[y - 1:y + 2, x - 1:x + 2] = 0
    m = mapping.build(syn.mask, syn.sketch, grain=s)
    assert m.stats.source == "straight (fallback)" and "dot" in m.notes[0]


def test_crossing_strokes_give_a_finite_smooth_field():
    syn = synthetic.curved_sleeve()
    s = np.full(syn.strokes.shape, 255, np.uint8)
    ys, xs = np.nonzero(syn.measure)
    cy, cx = int(ys.mean()), int(xs.mean())
    s[cy - 2:cy + 2, cx - 60:cx + 60] = 0  # a horizontal and a vertical stroke crossing at right angles
    s[cy - 60:cy + 60, cx - 2:cx + 2] = 0
    m = mapping.build(syn.mask, syn.sketch, grain=s)
    assert m.stats.source == "strokes" and torch.isfinite(m.maps).all()
    fab = m.preview(synthetic.stripes(), zoom=1.0, size=syn.mask.shape)
    assert torch.isfinite(fab).all() and m.stats.stretch[0] < 2.0  # distorted where they meet, not everywhere
    assert any("disagree" in n for n in m.notes)


def test_strokes_of_the_wrong_shape_are_refused_and_of_another_resolution_resized():
    syn = synthetic.curved_sleeve()
    with pytest.raises(InputError, match="sketch is 420×360"):
        mapping.build(syn.mask, syn.sketch, grain=np.full((100, 300, 3), 255, np.uint8))
    half = np.asarray(Image.fromarray(syn.strokes).resize((210, 180), Image.NEAREST))
    m = mapping.build(syn.mask, syn.sketch, grain=half)
    assert m.stats.source == "strokes" and any("resized" in n for n in m.notes)


def test_blank_strokes_and_unknown_grain_are_clear_errors():
    syn = synthetic.curved_sleeve()
    with pytest.raises(InputError, match="no stroke found"):
        mapping.build(syn.mask, syn.sketch, grain=np.full(syn.strokes.shape, 255, np.uint8))
    with pytest.raises(InputError, match="straight, auto or a strokes image"):
        mapping.build(syn.mask, syn.sketch, grain="diagonal")
    with pytest.raises(InputError, match="no such file"):
        mapping.build(syn.mask, syn.sketch, grain="/nonexistent/grain.png")


def test_drape_bends_the_pattern_into_folds_and_stays_finite():
    sk = io.load_image(ROOT / "samples/sketches/dress.png")
    mask = io.load_mask(ROOT / "samples/masks/dress__skirt.png")
    flat = mapping.build(mask, sk)
    draped = mapping.build(mask, sk, drape=1.0)
    frame = CanvasFrame(size=tuple(mask.shape), origin=(mask.shape[1] / 2, mask.shape[0] / 2))
    u0, v0 = flat.coordinates(frame, zoom=1.0, swatch_size=(24, 24))
    u1, v1 = draped.coordinates(frame, zoom=1.0, swatch_size=(24, 24))
    inside = mask >= 0.5
    shift = torch.hypot(u1 - u0, v1 - v0)[inside]
    assert torch.isfinite(shift).all() and float(shift.max()) > 2.0  # the pattern moves at the folds …
    assert float(shift.median()) < float(shift.max()) / 3  # … not everywhere
    # never folds over: the mapping's Jacobian keeps a positive determinant inside
    uy, ux = np.gradient(u1.numpy().astype(float))
    vy, vx = np.gradient(v1.numpy().astype(float))
    assert ((ux * vy - uy * vx)[inside.numpy()] > 0).mean() > 0.999
