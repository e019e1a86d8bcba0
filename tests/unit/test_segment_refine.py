"""Mask refinement and segmentation options."""
from __future__ import annotations

import numpy as np
import pytest

from garmentstyle.errors import OptionsError
from garmentstyle.segment import SegmentOptions
from garmentstyle.segment import refine as R


def disk(h=64, w=64, r=20, c=(32, 32)) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= r * r


class TestRefine:
    def test_fill_holes(self):
        m = disk()
        m[30:34, 30:34] = False
        assert R.fill_holes(m)[32, 32]

    def test_fill_small_holes_keeps_big_ones(self):
        m = disk()
        m[31:33, 31:33] = False
        m[20:28, 36:44] = False
        out = R.fill_small_holes(m, 10)
        assert out[32, 32] and not out[24, 40]

    def test_drop_specks_keeps_the_largest(self):
        m = disk()
        m[2:4, 2:4] = True
        out = R.drop_specks(m, 10)
        assert not out[2, 2] and out[32, 32]
        tiny = np.zeros((10, 10), bool)
        tiny[5, 5] = True
        assert R.drop_specks(tiny, 100)[5, 5]  # never empties a mask

    def test_smooth_removes_jaggies_keeps_area(self):
        m = disk()
        jag = m.copy()
        jag[4:12, 32] = True  # a one-pixel spike
        out = R.smooth(jag, 1)
        assert not out[6, 32]
        assert abs(int(out.sum()) - int(m.sum())) < 0.05 * m.sum()
        assert (R.smooth(m, 0) == m).all()

    def test_soft_edge_ramp(self):
        m = np.zeros((20, 40), bool)
        m[:, :20] = True
        s = R.soft_edge(m, 6.0)
        assert s.dtype == np.float32 and s.min() >= 0 and s.max() <= 1
        assert s[10, 0] == 1.0 and s[10, 39] == 0.0
        row = s[10]
        assert np.all(np.diff(row) <= 1e-6)  # monotone ramp
        assert 0.3 < row[19] < 0.8 and 0.2 < row[20] < 0.7
        assert (R.soft_edge(m, 0) == m).all()

    def test_grow_under_lines(self):
        ink = np.zeros((40, 40), bool)
        ink[10:30, 10:13] = True  # a line left of the mask
        ink[0:3, 35:40] = True  # a far-away mark
        m = np.zeros((40, 40), bool)
        m[10:30, 13:25] = True
        out = R.grow_under_lines(m, ink, max_px=4)
        assert out[20, 10] and out[20, 12]
        assert not out[1, 37]

    def test_nearest_fill(self):
        lab = np.zeros((10, 10), np.int64)
        lab[:, :3] = 1
        lab[:, 7:] = 2
        where = np.ones((10, 10), bool)
        out = R.nearest_fill(lab, where)
        assert (out > 0).all() and out[5, 4] == 1 and out[5, 6] == 2

    def test_merge_small_parts_and_rank(self):
        lab = np.zeros((20, 30), np.int64)
        lab[:, :10] = 5
        lab[:, 10:28] = 7
        lab[:, 28:] = 9  # a sliver
        out = R.merge_small_parts(lab, min_area=50, max_parts=10)
        assert set(np.unique(out)) == {1, 2}
        assert out[0, 15] == 1 and out[0, 29] == 1  # sliver merged into its neighbour, biggest first
        out = R.merge_small_parts(lab, min_area=0, max_parts=1)
        assert set(np.unique(out)) == {1}


class TestOptions:
    @pytest.mark.parametrize(
        "kw",
        [
            {"gap": -1},
            {"gap": 1000},
            {"gap": 2.5},
            {"ink_threshold": 1.5},
            {"layout": "croquis"},
            {"sam_model": "sam-vit-x"},
            {"soft_edge": -1},
            {"max_parts": 0},
            {"smooth": True},
            {"fill_holes": "yes"},
            {"min_part": 0.9},
        ],
    )
    def test_bad_options(self, kw):
        with pytest.raises(OptionsError):
            SegmentOptions(**kw)

    def test_round_trip(self):
        o = SegmentOptions(gap=4, soft_edge=2.0, layout="flat")
        assert SegmentOptions.from_dict(o.to_dict()) == o
        with pytest.raises(OptionsError, match="unknown"):
            SegmentOptions.from_dict({"gapp": 3})


class TestRefineMask:
    def test_sam_like_mask_grows_to_the_lines(self):
        import cv2
        import torch

        from garmentstyle.errors import MaskError
        from garmentstyle.segment import refine_mask

        img = np.full((80, 80), 255, np.uint8)
        cv2.rectangle(img, (20, 20), (59, 59), 0, 3)
        inner = np.zeros((80, 80), bool)
        inner[23:57, 23:57] = True
        inner[40, 40] = False  # a pinhole
        inner[2, 2] = True  # a speck
        out = refine_mask(torch.from_numpy(inner), img).numpy()
        assert out[20, 40] == 1 and out[40, 40] == 1 and out[2, 2] == 0 and out[10, 10] == 0
        soft = refine_mask(inner, img, options=SegmentOptions(soft_edge=3)).numpy()
        assert ((soft > 0) & (soft < 1)).any()
        with pytest.raises(MaskError):
            refine_mask(np.zeros((80, 80), bool), img)
        with pytest.raises(MaskError):
            refine_mask(inner[:50], img)


def test_large_sketch_maps_back_parts_that_tile_the_garment():
    """A sketch above the working size: the parts (filled and merged on the working copy, then mapped back) cover
    every garment pixel and nothing else, with consecutive ids, and the partition is the working one resized."""
    import cv2

    from garmentstyle.segment import lineart, segment

    img = np.full((2400, 1800), 255, np.uint8)
    cv2.rectangle(img, (300, 300), (1500, 2100), 0, 8)
    cv2.line(img, (900, 300), (900, 2100), 0, 8)
    cv2.line(img, (300, 1200), (900, 1200), 0, 8)
    lineart.clear_cache()
    seg = segment(np.repeat(img[..., None], 3, 2), method="classical")
    g = seg.garment.numpy() > 0.5
    lab = seg.labels.numpy()
    assert lab.shape == g.shape == (2400, 1800)
    assert ((lab > 0) == g).all()
    ids = np.unique(lab[lab > 0])
    assert ids.tolist() == list(range(1, len(ids) + 1)) and len(ids) == len(seg.regions) == 3
    part = seg.partition.numpy()
    assert part.dtype == np.int64 and part.shape == g.shape
    assert part[600, 600] != part[1800, 600] and part[600, 600] != part[600, 1200]
