"""Strokes and clicks: STROKES.png colours, selection, removal, strokes on lines / background / outside the image."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from garmentstyle.errors import InputError, MaskError, OptionsError, SegmentationError
from garmentstyle.segment import SegmentOptions, Strokes, lineart, load_strokes, region_at, segment
from garmentstyle.segment.strokes import sample_points

H = W = 200


def three_panel() -> np.ndarray:
    """A rectangle split into three panels (left, middle, right) by two seams; RGB float."""
    img = np.full((H, W), 255, np.uint8)
    cv2.rectangle(img, (30, 40), (169, 159), 0, 3)
    cv2.line(img, (80, 40), (80, 159), 0, 3)
    cv2.line(img, (120, 40), (120, 159), 0, 3)
    return np.repeat((img.astype(np.float32) / 255.0)[..., None], 3, axis=2)


def strokes(pos=(), neg=(), points=(), boxes=()) -> Strokes:
    p = np.zeros((H, W), np.uint8)
    n = np.zeros((H, W), np.uint8)
    for (x0, y0, x1, y1) in pos:
        cv2.line(p, (x0, y0), (x1, y1), 1, 5)
    for (x0, y0, x1, y1) in neg:
        cv2.line(n, (x0, y0), (x1, y1), 1, 5)
    return Strokes(torch.from_numpy(p > 0), torch.from_numpy(n > 0), points=list(points), boxes=list(boxes))


@pytest.fixture(autouse=True)
def _fresh_cache():
    lineart.clear_cache()


def cols(seg) -> tuple[bool, bool, bool]:
    g = seg.garment.numpy() > 0.5
    return bool(g[100, 55]), bool(g[100, 100]), bool(g[100, 145])


class TestSelect:
    def test_positive_stroke_selects_the_regions_it_touches(self):
        seg = segment(three_panel(), method="classical", strokes=strokes(pos=[(50, 90, 60, 120)]))
        assert cols(seg) == (True, False, False)
        assert seg.garment.numpy()[40, 55] == 1  # the outline comes with it
        seg = segment(three_panel(), method="classical", strokes=strokes(pos=[(50, 100, 100, 100)]))
        assert cols(seg) == (True, True, False)
        assert len(seg.regions) == 2

    def test_negative_stroke_removes(self):
        s = strokes(pos=[(50, 100, 150, 100)], neg=[(100, 60, 100, 80)])
        seg = segment(three_panel(), method="classical", strokes=s)
        assert cols(seg) == (True, False, True)
        assert any("both positive and negative" in n for n in seg.notes)

    def test_negative_only_starts_from_the_auto_garment(self):
        seg = segment(three_panel(), method="classical", strokes=strokes(neg=[(140, 80, 150, 120)]))
        assert cols(seg) == (True, True, False)

    def test_add_to_auto(self):
        img = three_panel()
        img[170:195, 10:40] = 0.0  # a small separate solid mark (a speck of the auto pick? no: a fill region)
        seg = segment(
            img,
            method="classical",
            strokes=strokes(neg=[(100, 90, 100, 110)]),
            options=SegmentOptions(add_to_auto=True),
        )
        assert cols(seg) == (True, False, True)

    def test_clicks_and_boxes(self):
        seg = segment(three_panel(), method="classical", strokes=Strokes.from_points((H, W), [(140, 100, True)]))
        assert cols(seg) == (False, False, True)
        seg = segment(three_panel(), method="classical", strokes=Strokes.from_points((H, W), boxes=[(25, 30, 125, 170)]))
        assert cols(seg) == (True, True, False)

    def test_stroke_on_a_line_selects_the_nearest_region(self):
        s = strokes(pos=[(31, 70, 31, 130)])  # along the left outline
        seg = segment(three_panel(), method="classical", strokes=s)
        assert cols(seg) == (True, False, False)
        assert any("line art" in n for n in seg.notes)

    def test_stroke_on_the_background_only_is_an_error(self):
        with pytest.raises(SegmentationError, match="background"):
            segment(three_panel(), method="classical", strokes=strokes(pos=[(5, 5, 20, 20)]))

    def test_negative_everywhere_leaves_nothing(self):
        s = strokes(neg=[(40, 100, 160, 100)])
        with pytest.raises(SegmentationError, match="nothing selected"):
            segment(three_panel(), method="classical", strokes=s)

    def test_open_region_closed_for_the_stroke(self):
        img = np.full((H, W), 255, np.uint8)
        cv2.rectangle(img, (25, 25), (174, 174), 0, 3)  # an outer band 12 px wide ...
        cv2.rectangle(img, (40, 40), (159, 159), 0, 3)  # ... round a closed panel: the auto gap stays 0
        img[96:110, 172:177] = 255  # a 14 px opening in the band's outer line: beyond the automatic search
        rgb = np.repeat((img / 255.0).astype(np.float32)[..., None], 3, axis=2)
        assert lineart.partition(rgb).gap == 0
        seg = segment(rgb, method="classical", strokes=Strokes.from_points((H, W), [(32, 100, True)]))
        assert seg.gap >= 8
        g = seg.garment.numpy()
        assert g[100, 32] == 1 and g[5, 5] == 0
        assert any("open to the background" in n for n in seg.notes)


class TestValidate:
    def test_clicks_outside_are_dropped_with_a_note(self):
        s = Strokes.from_points((H, W), [(500, 500, True), (140, 100, True)])
        seg = segment(three_panel(), method="classical", strokes=s)
        assert cols(seg) == (False, False, True)
        assert any("outside" in n for n in seg.notes)

    def test_all_clicks_outside_is_an_error(self):
        s = Strokes.from_points((H, W), [(-5, 10, True), (10, 900, True)])
        with pytest.raises(InputError, match="outside"):
            segment(three_panel(), method="classical", strokes=s)

    def test_strokes_of_another_size(self):
        s = Strokes(torch.zeros(50, 50, dtype=torch.bool), torch.zeros(50, 50, dtype=torch.bool))
        with pytest.raises(MaskError, match="sketch is 200×200"):
            segment(three_panel(), method="classical", strokes=s)

    def test_bad_strokes_objects(self):
        with pytest.raises(MaskError):
            Strokes(torch.zeros(5, 5), torch.zeros(6, 6))
        with pytest.raises(InputError):
            Strokes.from_points((5, 5), [(1,)])
        with pytest.raises(InputError):
            segment(three_panel(), method="classical", strokes="strokes.png")  # type: ignore[arg-type]


class TestLoadStrokes:
    def _png(self, tmp_path, size=(W, H), draw=True, name="STROKES.png"):
        img = Image.new("RGB", size, "white")
        arr = np.asarray(img).copy()
        if draw:
            sx, sy = size[0] / W, size[1] / H
            arr[int(90 * sy) : int(110 * sy), int(50 * sx) : int(60 * sx)] = (0, 255, 0)  # green: positive
            arr[int(90 * sy) : int(110 * sy), int(140 * sx) : int(150 * sx)] = (230, 20, 30)  # red-ish: negative
            arr[10:20, 10:20] = (0, 0, 0)  # black (a copy of the sketch): ignored
            arr[30:40, 10:20] = (40, 40, 255)  # blue: ignored
        p = tmp_path / name
        Image.fromarray(arr).save(p)
        return p

    def test_colours(self, tmp_path):
        s = load_strokes(self._png(tmp_path), size=(H, W))
        assert s.size == (H, W)
        assert s.positive[100, 55] and not s.positive[100, 145]
        assert s.negative[100, 145] and not s.negative[100, 55]
        assert not s.positive[15, 15] and not s.negative[15, 15] and not s.positive[35, 15]

    def test_same_aspect_is_rescaled_with_a_note(self, tmp_path):
        s = load_strokes(self._png(tmp_path, size=(400, 400)), size=(H, W))
        assert s.size == (H, W) and s.positive[100, 55]
        assert any("rescaled" in n for n in s.notes)

    def test_other_aspect_is_an_error(self, tmp_path):
        with pytest.raises(MaskError, match="another shape"):
            load_strokes(self._png(tmp_path, size=(300, 200)), size=(H, W))

    def test_no_strokes(self, tmp_path):
        with pytest.raises(InputError, match="green"):
            load_strokes(self._png(tmp_path, draw=False), size=(H, W))

    def test_transparent_layer(self, tmp_path):
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[90:110, 50:60] = (0, 255, 0, 255)
        p = tmp_path / "layer.png"
        Image.fromarray(rgba, "RGBA").save(p)
        s = load_strokes(p, size=(H, W))
        assert s.positive[100, 55] and int(s.positive.sum()) == 200

    def test_end_to_end(self, tmp_path):
        s = load_strokes(self._png(tmp_path), size=(H, W))
        seg = segment(three_panel(), method="classical", strokes=s)
        assert cols(seg) == (True, False, False)


def test_sample_points_are_spread_on_the_stroke():
    m = np.zeros((50, 50), bool)
    m[10, 5:45] = True
    pts = sample_points(m, 4)
    assert pts.shape == (4, 2)
    assert np.all(np.abs(pts[:, 1] - 10.5) < 1e-6)
    assert pts[:, 0].max() - pts[:, 0].min() > 30
    assert sample_points(np.zeros((5, 5), bool), 3).shape == (0, 2)


class TestRegionAt:
    def test_click_on_a_sketch(self):
        r = region_at(three_panel(), 100, 100, scope="panel")
        m = r.mask.numpy()
        assert m[100, 100] == 1 and m[100, 55] == 0 and m[100, 145] == 0
        assert r.box[0] <= 100 < r.box[2] and r.area == int(m.sum())

    def test_click_on_a_segmentation(self):
        seg = segment(three_panel(), method="classical")
        r = region_at(seg, 55, 100, scope="panel")
        assert r.mask.numpy()[100, 55] == 1 and r.mask.numpy()[100, 100] == 0

    def test_a_click_selects_the_part_its_panels_make(self):
        # Three panels side by side spanning one rectangle (a skirt's panels): one click selects them all; the
        # "panel" scope keeps the one clicked.
        seg = segment(three_panel(), method="classical")
        part = region_at(seg, 55, 100)
        assert part.name == "part" and part.mask.numpy()[100, [55, 100, 145]].tolist() == [1, 1, 1]
        panel = region_at(seg, 55, 100, scope="panel")
        assert panel.area < 0.5 * part.area
        with pytest.raises(OptionsError, match="scope"):
            region_at(seg, 55, 100, scope="skirt")

    def test_click_on_the_background_or_outside(self):
        with pytest.raises(SegmentationError, match="background"):
            region_at(three_panel(), 5, 5)
        with pytest.raises(InputError, match="outside"):
            region_at(three_panel(), 250, 5)
