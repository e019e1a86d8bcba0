"""The fast paths of the render's finishing and planning give the same results as the plain implementations they
replaced (scipy's distance transforms, a k×k max-pool closing, finishing the whole page): bit for bit on the
bundled sample garments, except nearest-region labels at exact ties (documented in garmentstyle.morph)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from garmentstyle import finish, guidance, io, morph, samples
from garmentstyle.api import _resize_image
from garmentstyle.colour import luminance
from garmentstyle.plan import exclusive_masks, nearest_region_labels


def _sample(name: str, side: int = 360):
    sk = io.load_image(samples.sketch_path(name))
    h, w = sk.shape[-2:]
    size = (side, round(w * side / h))
    masks = [_resize_image(io.load_mask(p)[None, None], size)[0, 0]
             for part, p in samples.mask_paths(name).items() if part != "garment"]
    return _resize_image(sk, size), torch.stack(masks)


NAMES = samples.list_sketches()


def _old_ink(sketch, line_px=None):  # the k×k max-pool closing ink_map used before
    lum = luminance(sketch)
    paper = torch.quantile(lum.flatten()[:: max(1, lum.numel() // 200_000)], 0.98).clamp_min(0.05)
    rel = (lum / paper).clamp(0, 1)
    k = line_px or max(5, round(0.012 * max(sketch.shape[-2:])))
    k = k + 1 - k % 2
    bg = -F.max_pool2d(-F.max_pool2d(rel, k, 1, k // 2), k, 1, k // 2)
    contrast = ((bg - rel) / bg.clamp_min(0.05)).clamp(0, 1)
    dark = finish._smoothstep(-rel, -finish.DARK_RAMP, -finish.SOLID_INK)
    return torch.maximum(dark, finish._smoothstep(contrast, *finish.LINE_CONTRAST))


def _old_compose(sketch, fabric, alphas, keep_sketch=True, shading_strength=1.0, ink=None):  # the whole page
    a = alphas.sum(dim=0).clamp(0, 1)[None, None]
    finished = fabric
    if keep_sketch:
        ink_a = _old_ink(sketch) if ink is None else ink.reshape(1, 1, *sketch.shape[-2:]).clamp(0, 1)
        lum = luminance(sketch)
        paper = torch.quantile(lum.flatten()[:: max(1, lum.numel() // 200_000)], 0.98).clamp_min(0.05)
        shaded = fabric * (1.0 - shading_strength * (1.0 - (lum / paper).clamp(0, 1)))
        finished = ink_a * sketch + (1 - ink_a) * shaded
    out = sketch * (1 - a) + finished * a
    return torch.where(a > 0, out, sketch).clamp(0, 1)


def _old_alphas(masks, soft_edge):  # scipy's EDT on the whole image
    R, H, W = masks.shape
    alphas, covered = torch.zeros_like(masks), torch.zeros(H, W)
    for r in range(R - 1, -1, -1):
        m = masks[r].clamp(0, 1)
        dist = ndimage.distance_transform_edt((m > 0).numpy()).astype(np.float32)
        m = m * torch.from_numpy(np.clip(dist / soft_edge, 0.0, 1.0))
        alphas[r] = m * (1.0 - covered)
        covered = covered + alphas[r]
    return alphas


@pytest.mark.parametrize("name", NAMES)
def test_finishing_equals_the_whole_page_implementation(name):
    sk, masks = _sample(name)
    for soft_edge in (1.2, 1.5, 2.0, 4.0):  # ≤ 2: erosion classes; beyond: the distance transform
        assert torch.equal(finish.region_alphas(masks, soft_edge=soft_edge), _old_alphas(masks, soft_edge))
    alphas = finish.region_alphas(masks)
    fabric = torch.rand(1, 3, *sk.shape[-2:], generator=torch.Generator().manual_seed(0))
    ink = torch.rand(sk.shape[-2:], generator=torch.Generator().manual_seed(1))
    assert torch.equal(finish.ink_map(sk), _old_ink(sk))
    before = fabric.clone()
    assert torch.equal(finish.compose(sk, fabric, alphas), _old_compose(sk, fabric, alphas))
    assert torch.equal(finish.compose(sk, fabric, alphas, ink=ink, shading_strength=0.4),
                       _old_compose(sk, fabric, alphas, ink=ink, shading_strength=0.4))
    assert torch.equal(finish.compose(sk, fabric, alphas, keep_sketch=False),
                       _old_compose(sk, fabric, alphas, keep_sketch=False))
    assert torch.equal(fabric, before)  # in-place steps never touch the caller's fabric


def test_compose_with_no_region_is_the_sketch():
    sk = torch.rand(1, 3, 40, 30)
    out = finish.compose(sk, torch.rand(1, 3, 40, 30), torch.zeros(2, 40, 30))
    assert torch.equal(out, sk) and out.data_ptr() != sk.data_ptr()


def test_max_filter_paths_agree_with_max_pool():
    x = torch.rand(1, 1, 61, 47, generator=torch.Generator().manual_seed(2))
    for k in (1, 5, 25):
        ref = F.max_pool2d(x, k, 1, k // 2)
        assert torch.equal(finish._max_filter(x, k), ref)  # OpenCV
        assert torch.equal(finish._max_filter(x.double(), k), ref.double())  # separable torch


@pytest.mark.parametrize("name", NAMES)
def test_distance_transforms_equal_scipy(name):
    _, masks = _sample(name)
    for m in masks:
        inside = m.numpy() > 0
        ref = ndimage.distance_transform_edt(inside).astype(np.float32)
        assert np.array_equal(morph.edt(inside), ref)
        near = morph.edt_near(inside, 3.0)
        assert np.array_equal(near[ref < 3.0], ref[ref < 3.0]) and (near[ref >= 3.0] >= 3.0).all()
    depth = guidance.chessboard_depth((masks >= 0.5).float())
    for r, m in enumerate(masks):
        ref = ndimage.distance_transform_cdt(np.pad(m.numpy() >= 0.5, 1), metric="chessboard")[1:-1, 1:-1]
        assert np.array_equal(depth[r].numpy(), ref)


@pytest.mark.parametrize("name", NAMES)
def test_nearest_region_labels_equal_scipy_except_at_ties(name):
    _, masks = _sample(name)
    hard = exclusive_masks(masks)
    new = nearest_region_labels(hard).numpy()
    label = np.full(hard.shape[-2:], -1)
    for r in range(hard.shape[0]):
        label[hard[r].numpy()] = r
    _, (iy, ix) = ndimage.distance_transform_edt(label < 0, return_indices=True)
    old = label[iy, ix]
    assert np.array_equal(new[label >= 0], label[label >= 0])
    dist = np.stack([ndimage.distance_transform_edt(label != r) for r in range(hard.shape[0])])
    differ = new != old
    assert differ.mean() < 0.01  # ties only (next line): equidistant pixels between regions
    assert np.array_equal(np.take_along_axis(dist, new[None], 0), np.take_along_axis(dist, old[None], 0))


def test_nearest_region_labels_are_cached_by_the_masks_and_handed_out_as_copies():
    from garmentstyle import plan

    _, masks = _sample(NAMES[0])
    hard = exclusive_masks(masks)
    plan.LABELS.clear()
    first = nearest_region_labels(hard)
    first.fill_(7)  # a caller changing its copy must not change the next render's labels
    again = nearest_region_labels(hard.clone())
    assert plan.LABELS.hits == 1 and plan.LABELS.misses == 1
    assert np.array_equal(again.numpy(), plan._labels_of(hard.numpy()).numpy())
    moved = torch.roll(hard, 9, dims=-1)  # other masks: measured afresh, not the cached labels
    assert np.array_equal(nearest_region_labels(moved).numpy(), plan._labels_of(moved.numpy()).numpy())
    assert plan.LABELS.misses == 2


def test_bbox_and_edge_cases():
    m = np.zeros((10, 12), bool)
    assert morph.bbox(m) is None and not morph.edt_near(m, 2).any()
    m[3:5, 4:9] = True
    assert morph.bbox(m) == (3, 5, 4, 9) and morph.bbox(m, 4) == (0, 9, 0, 12)
    assert np.isinf(morph.edt(np.ones((4, 4), bool))).all()
    lab = np.full((5, 5), -1)
    assert np.array_equal(morph.nearest_labels(lab), lab)
    lab[0, 0] = 2
    assert (morph.nearest_labels(lab) == 2).all()


@pytest.mark.parametrize("name", NAMES[:2])
def test_cell_counts_equal_the_guides_mass(name):
    from garmentstyle import encoders
    from garmentstyle.losses import usable_layers

    _, masks = _sample(name)
    enc = encoders.get("texture")
    sizes = {n: enc.feature_size(tuple(masks.shape[-2:]), n) for n in enc.style_layers}
    guides = guidance.propagate(masks, enc.geometry, sizes)
    counts = guidance.inside_cell_counts(masks, enc.geometry, sizes)
    for n in enc.style_layers:
        assert counts[n] == [int(g.square().sum()) for g in guides[n]]
    by_count = [[n for n in enc.style_layers if counts[n][r] >= 16] for r in range(masks.shape[0])]
    assert by_count == usable_layers(guides, enc.style_layers, min_cells=16)


def test_overlap_count_equals_the_integer_count():
    from garmentstyle.api import _overlap_pixels

    gen = torch.Generator().manual_seed(0)
    for regions in (1, 2, 3, 7):
        hard = torch.rand(regions, 50, 40, generator=gen) > 0.6
        assert _overlap_pixels(hard) == int((hard.sum(dim=0) > 1).sum())


def test_edt_classes_match_the_distance_transform():
    rng = np.random.default_rng(3)
    for density in (0.3, 0.7, 0.95, 1.0):
        inside = rng.random((37, 29)) < density
        inside[5:20, 4:25] = True  # a solid block (distances ≥ 2) next to the random edge pixels and the border
        box = morph.bbox(inside)
        d = morph.edt(inside)[box[0]:box[1], box[2]:box[3]]
        want = np.where(d == 0, 0, np.where(d == 1, 1, np.where(d < 2, 2, 3)))
        assert np.array_equal(morph.edt_classes_in_box(inside, box), want)
        assert np.array_equal(morph.CLASS_DISTANCES[want], np.minimum(d, 2))


# ------------------------------------------------------------------ scipy.ndimage's defaults without importing it
def _random_masks():
    rng = np.random.default_rng(5)
    for shape, p, blur in [((37, 53), 0.5, 0), ((64, 64), 0.3, 2), ((90, 41), 0.7, 1), ((1, 9), 0.5, 0),
                           ((48, 48), 0.0, 0), ((48, 48), 1.0, 0)]:
        noise = rng.random(shape)
        if blur:
            import cv2

            noise = cv2.GaussianBlur(noise, (0, 0), blur)
        yield noise < np.quantile(noise, p) if 0 < p < 1 else np.full(shape, p > 0)


def test_label_fill_erode_and_means_equal_scipy_on_random_masks():
    import scipy.ndimage as ndi

    from garmentstyle import morph

    for m in _random_masks():
        lab, n = morph.label4(m)
        ref, rn = ndi.label(m)
        assert n == rn and np.array_equal(lab, ref)
        assert np.array_equal(morph.fill_holes(m), ndi.binary_fill_holes(m))
        assert np.array_equal(morph.erode_cross(m), ndi.binary_erosion(m))
        if n:
            vals = np.random.default_rng(n).random(m.shape)
            np.testing.assert_allclose(morph.label_means(vals, lab, n), ndi.mean(vals, ref, index=np.arange(1, n + 1)),
                                       rtol=1e-12)



def test_swatch_blur_and_resampling_equal_scipy():
    """The swatch checks' Gaussian blur and bilinear resampling, through OpenCV and numpy so that a first render
    does not import SciPy (~0.15 s) for a seamless tile: equal to scipy.ndimage's to rounding, in its dtype, also
    where the kernel is wider than the image."""
    from garmentstyle.swatches.analyse import bilinear_grid, gaussian

    rng = np.random.default_rng(0)
    for shape in [(3, 3), (5, 7), (40, 33), (300, 211)]:
        for dt in (np.float32, np.float64):
            x = rng.random(shape).astype(dt)
            for sigma in (0.5, 1.0, 3.3, 8.0, 20.0):
                ours, ref = gaussian(x, sigma), ndimage.gaussian_filter(x, sigma, mode="reflect")
                assert ours.dtype == ref.dtype and np.allclose(ours, ref, rtol=0, atol=1e-6 if dt == np.float32 else 1e-12)
            ys, xs = np.linspace(-2, shape[0] + 1, 17), np.linspace(-1.5, shape[1] + 2, 13)
            ours = bilinear_grid(x, ys, xs)
            ref = ndimage.map_coordinates(x, np.meshgrid(ys, xs, indexing="ij"), order=1, mode="nearest")
            assert ours.dtype == ref.dtype and np.allclose(ours, ref, rtol=0, atol=1e-6)


def _background_with_scipy(rgb):
    """checks._background as it was written with scipy.ndimage (the reference)."""
    h, w = rgb.shape[:2]
    lum = rgb.mean(axis=-1)
    s = max(2.0, min(h, w) / 100)
    mean = ndimage.uniform_filter(lum, 2 * int(s) + 1)
    var = ndimage.uniform_filter(lum ** 2, 2 * int(s) + 1) - mean ** 2
    lab, _ = ndimage.label(var < 0.004 ** 2 * 4)
    border = np.unique(np.r_[lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    border = border[border > 0]
    if len(border) == 0:
        return 0.0, (0.0, 0.0, 0.0)
    bg = lab == border[int(np.argmax(ndimage.sum(np.ones_like(lum), lab, border)))]
    tex = ~bg
    if not tex.any():
        return float(bg.mean()), tuple(rgb[bg].mean(axis=0))
    ys, xs = np.nonzero(tex)
    if (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1) / (h * w) > 0.8:
        return 0.0, (0.0, 0.0, 0.0)
    return float(bg.mean()), tuple(float(v) for v in rgb[bg].mean(axis=0))


def test_swatch_background_check_equals_its_scipy_form():
    """checks._background (a flat area touching the border) with OpenCV's box mean and labels gives what its
    scipy.ndimage form gave: on a swatch with a plain margin, one all plain, noise, and every bundled swatch."""
    from pathlib import Path

    from garmentstyle.swatches import checks

    rng = np.random.default_rng(1)
    margin = np.ones((120, 160, 3)) * 0.9
    margin[30:90, 40:120] = rng.random((60, 80, 3))
    cases = [margin, np.full((50, 70, 3), 0.4), rng.random((64, 64, 3))]
    cases += [io.load_image(str(f))[0].permute(1, 2, 0).numpy().astype(np.float64)
              for f in sorted(Path(samples.swatch_path("floral")).parent.glob("*.png"))]
    for rgb in cases:
        frac, colour = checks._background(rgb)
        ref_frac, ref_colour = _background_with_scipy(rgb)
        assert frac == pytest.approx(ref_frac, abs=1e-12) and np.allclose(colour, ref_colour, atol=1e-9)
    assert checks._background(margin)[0] > 0.4
