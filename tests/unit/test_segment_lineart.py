"""Classical line-art segmentation: binarisation, gap closing, regions grown under the lines, bad pages."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from garmentstyle.errors import SegmentationError
from garmentstyle.segment import SegmentOptions, lineart, segment


def page(h: int = 200, w: int = 200) -> np.ndarray:
    return np.full((h, w), 255, np.uint8)


def two_panel(h: int = 200, w: int = 200, *, shade: bool = True) -> np.ndarray:
    """A rectangle outline split by a vertical seam, light grey shading inside, a fold stroke on the right."""
    img = page(h, w)
    if shade:
        img[40:160, 40:160] = np.linspace(195, 240, 120).astype(np.uint8)[None, :]  # 0.76 .. 0.94 grey
    cv2.rectangle(img, (40, 40), (159, 159), 0, 3)
    cv2.line(img, (100, 40), (100, 159), 0, 3)
    cv2.line(img, (120, 60), (135, 110), 40, 2)  # an open fold line: must not split the panel
    return img


def as_rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat((img.astype(np.float32) / 255.0)[..., None], 3, axis=2)


@pytest.fixture(autouse=True)
def _fresh_cache():
    lineart.clear_cache()
    yield
    lineart.clear_cache()


class TestBinarise:
    def test_shading_is_not_ink(self):
        grey = two_panel().astype(np.float32) / 255.0
        thr = lineart.ink_threshold(grey)
        assert lineart.THRESHOLD_RANGE[0] <= thr <= lineart.THRESHOLD_RANGE[1]
        ink = grey < thr
        assert not ink[60:150, 50:95].any()  # the shaded inside of the left panel
        assert ink[40, 60] and ink[100, 100]

    def test_blank_page_is_refused(self):
        with pytest.raises(SegmentationError, match="blank"):
            lineart.partition(as_rgb(page()))

    def test_photo_is_refused(self):
        rng = np.random.default_rng(0)
        noise = cv2.GaussianBlur(rng.random((200, 200)).astype(np.float32), (0, 0), 4)
        noise = (noise - noise.min()) / (noise.max() - noise.min())
        with pytest.raises(SegmentationError, match="line art"):
            lineart.partition(noise)

    @pytest.mark.parametrize("level", [0.0, 0.5, 1.0])
    def test_uniform_page_is_blank(self, level):
        with pytest.raises(SegmentationError, match="blank"):
            lineart.partition(np.full((50, 60), level, np.float32))

    def test_noise_is_refused(self):
        rng = np.random.default_rng(1)
        salt = (rng.random((120, 120)) > 0.05).astype(np.float32)
        with pytest.raises(SegmentationError, match="noise"):
            lineart.partition(salt)
        dense = (rng.random((120, 120)) > 0.5).astype(np.float32)
        with pytest.raises(SegmentationError, match="noise|line art"):
            lineart.partition(dense)

    def test_white_on_black_is_inverted(self):
        img = 255 - two_panel(shade=False)
        part = lineart.partition(as_rgb(img))
        assert any("inverted" in n for n in part.notes)
        assert part.n == 2


class TestPartition:
    def test_regions_split_by_the_seam_and_grown_under_lines(self):
        part = lineart.partition(as_rgb(two_panel()))
        assert part.n == 2 and part.gap == 0 and part.closure == 1.0
        left = part.labels[100, 60]
        right = part.labels[100, 140]
        assert left > 0 and right > 0 and left != right
        # the outline and the seam belong to the regions, not the background
        assert part.labels[40, 60] == left and part.labels[100, 159] == right
        assert part.labels[100, 99] in (left, right) and part.labels[100, 101] in (left, right)
        assert part.labels[10, 10] == 0
        # the fold line did not split the right panel
        assert part.labels[85, 127] == right

    def test_gap_is_closed_automatically_with_a_note(self):
        img = page()
        cv2.rectangle(img, (40, 40), (159, 159), 0, 3)
        img[90:96, 157:162] = 255  # a 6 px opening in the right side
        part = lineart.partition(as_rgb(img))
        assert part.gap >= 6
        assert any("gap closing at" in n for n in part.notes)
        assert 0 < part.closure < 1
        inside = part.labels[100, 100]
        assert inside > 0 and part.labels[93, 158] == inside  # the opening itself is part of the region
        assert part.labels[93, 175] == 0

    def test_fixed_gap_zero_on_an_open_outline_is_an_error(self):
        img = page()
        cv2.rectangle(img, (40, 40), (159, 159), 0, 3)
        img[90:96, 157:162] = 255
        with pytest.raises(SegmentationError, match="gap tolerance of 0 px"):
            lineart.partition(as_rgb(img), SegmentOptions(gap=0))

    def test_no_closed_region(self):
        img = page()
        cv2.line(img, (20, 180), (180, 170), 0, 3)
        cv2.ellipse(img, (100, 100), (60, 40), 0, 40, 320, 0, 3)  # wide open
        with pytest.raises(SegmentationError, match="no closed region"):
            lineart.partition(as_rgb(img))

    def test_solid_fill_is_its_own_region(self):
        img = two_panel(shade=False)
        cv2.circle(img, (70, 100), 18, 0, -1)  # a solid black blob (a lapel, a button)
        part = lineart.partition(as_rgb(img))
        blob = part.labels[100, 70]
        assert part.kinds[blob - 1] == lineart.KIND_FILL

    def test_frame_round_the_page_is_the_page_edge(self):
        img = page()
        cv2.rectangle(img, (2, 2), (197, 197), 0, 3)
        cv2.circle(img, (100, 100), 40, 0, 3)
        seg = segment(as_rgb(img), method="classical")
        assert any("frame" in n for n in seg.notes)
        assert 0.1 < float(seg.garment.mean()) < 0.2

    def test_cache_returns_the_same_partition(self):
        img = as_rgb(two_panel())
        a = lineart.partition(img)
        b = lineart.partition(img.copy())
        assert a is b
        c = lineart.partition(img, SegmentOptions(gap=4))
        assert c is not a

    def test_stroke_width(self):
        img = page()
        cv2.rectangle(img, (40, 40), (159, 159), 0, 5)
        part = lineart.partition(as_rgb(img))
        assert 3 <= part.stroke <= 8

    def test_drawing_cut_by_the_canvas_edge(self):
        img = page()
        cv2.rectangle(img, (40, 40), (159, 159), 0, 3)
        cv2.rectangle(img, (-10, 170), (60, 230), 0, 3)  # a shape running off the bottom-left corner
        part = lineart.partition(as_rgb(img))
        assert part.labels[100, 100] > 0

    def test_marker_fill_is_a_colour_region_beside_a_bold_outline(self):
        # A bold outline has solid-ink cores of its own; the marker-filled panel must still be read as a colour
        # region (the solid-ink step once replaced the colour fills it was checked against).
        img = np.full((400, 400, 3), 245, np.uint8)
        cv2.rectangle(img, (60, 60), (200, 340), (40, 120, 200), -1)
        cv2.rectangle(img, (60, 60), (340, 340), (0, 0, 0), 14)
        cv2.line(img, (200, 60), (200, 340), (0, 0, 0), 14)
        lineart.clear_cache()
        part = lineart.partition(img)
        kinds = {part.kinds[lab - 1] for lab in (part.labels[200, 130], part.labels[200, 270])}
        assert kinds == {lineart.KIND_COLOUR, lineart.KIND_ENCLOSED}
        assert lineart.KIND_FILL in part.kinds  # the bold outline's solid ink is still found
