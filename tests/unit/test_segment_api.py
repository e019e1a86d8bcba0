"""The public API: inputs of every kind, the result's contract, saving, progress, soft edges, bad pages."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from garmentstyle.errors import Cancelled, ImageReadError, OptionsError, SegmentationError
from garmentstyle.segment import (
    RegionInfo,
    Segmentation,
    SegmentOptions,
    SegmentProgress,
    Strokes,
    lineart,
    load_strokes,
    region_at,
    segment,
)

H, W = 160, 140


def flat() -> np.ndarray:
    """A 'garment': a body panel, two sleeves closed by seams, a pocket; light shading; RGB float (H, W, 3)."""
    img = np.full((H, W), 255, np.uint8)
    pts = np.array([[40, 20], [100, 20], [130, 60], [110, 70], [100, 55], [100, 140], [40, 140], [40, 55], [30, 70],
                    [10, 60]], np.int32)
    cv2.fillPoly(img, [pts], 225)  # light grey shading
    cv2.polylines(img, [pts], True, 0, 2)
    cv2.line(img, (40, 20), (40, 55), 0, 2)  # sleeve seams
    cv2.line(img, (100, 20), (100, 55), 0, 2)
    cv2.rectangle(img, (55, 90), (80, 115), 0, 2)  # a pocket
    cv2.line(img, (60, 40), (75, 70), 60, 1)  # a fold line (open stroke)
    return np.repeat((img / 255.0).astype(np.float32)[..., None], 3, axis=2)


@pytest.fixture(autouse=True)
def _fresh_cache():
    lineart.clear_cache()


@pytest.mark.parametrize("kind", ["path", "pil", "array", "tensor", "uint8"])
def test_every_input_kind(tmp_path, kind):
    arr = flat()
    if kind == "path":
        src = tmp_path / "s.png"
        Image.fromarray((arr * 255).astype(np.uint8)).save(src)
    elif kind == "pil":
        src = Image.fromarray((arr * 255).astype(np.uint8))
    elif kind == "array":
        src = arr
    elif kind == "uint8":
        src = (arr * 255).astype(np.uint8)
    else:
        src = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
    seg = segment(src, method="classical")
    assert isinstance(seg, Segmentation)
    assert seg.garment.shape == (H, W) and seg.garment.dtype == torch.float32
    assert set(torch.unique(seg.garment).tolist()) <= {0.0, 1.0}
    assert seg.labels.shape == (H, W) and seg.labels.dtype == torch.int64


def test_result_contract():
    seg = segment(flat(), method="classical")
    assert seg.method == "classical" and seg.layout == "flat" and 0.9 <= seg.confidence <= 1.0
    g = seg.garment.numpy() > 0.5
    lab = seg.labels.numpy()
    assert g[30, 70] and g[100, 67] and g[62, 20] and not g[5, 5]
    assert g[20, 70]  # its outline included
    assert ((lab > 0) == g).all()  # parts tile the garment exactly
    assert len(seg.regions) == 4  # body, two sleeves, pocket
    assert lab[100, 67] != lab[40, 70]  # the pocket is a part of its own
    assert lab[62, 20] != lab[62, 118] != lab[40, 70]
    for r in seg.regions:
        assert isinstance(r, RegionInfo)
        m = r.mask.numpy()
        assert m.shape == (H, W) and r.area == int((m > 0.5).sum()) and r.method == "classical"
        x0, y0, x1, y1 = r.box
        assert ((lab == r.label) == (m > 0.5)).all()
        assert m[y0:y1, x0:x1].sum() == m.sum()
        assert 0 <= r.score <= 1 and r.name == f"part{r.label:02d}"
    assert seg.masks.shape == (len(seg.regions), H, W)
    assert seg.partition is not None and seg.partition.shape == (H, W)


def test_save(tmp_path):
    seg = segment(flat(), method="classical")
    data = seg.save(tmp_path / "out")
    out = tmp_path / "out"
    g = np.asarray(Image.open(out / "garment.png"))
    assert g.shape == (H, W) and set(np.unique(g)) <= {0, 255}
    assert ((g > 127) == (seg.garment.numpy() > 0.5)).all()
    raw = np.asarray(Image.open(out / "labels_raw.png"))
    assert (raw == seg.labels.numpy()).all()
    assert np.asarray(Image.open(out / "labels.png")).shape == (H, W, 3)
    on_disk = json.loads((out / "regions.json").read_text())
    assert on_disk == data
    assert on_disk["method"] == "classical" and on_disk["garment"]["file"] == "garment.png"
    for r, j in zip(seg.regions, on_disk["regions"]):
        assert j["name"] == r.name and j["area"] == r.area and j["box"] == list(r.box)
        assert j["method"] == "classical" and "score" in j
        assert (out / j["file"]).is_file()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(Exception, match="folder"):
        seg.save(tmp_path / "afile")


def test_soft_edge():
    hard = segment(flat(), method="classical")
    soft = segment(flat(), method="classical", options=SegmentOptions(soft_edge=4.0))
    g = soft.garment.numpy()
    assert g.min() == 0 and g.max() == 1 and ((g > 0) & (g < 1)).any()
    assert abs(float((g > 0.5).sum()) - float(hard.garment.sum())) < 0.05 * float(hard.garment.sum())
    total = sum(r.mask for r in soft.regions)
    assert torch.allclose(total, soft.garment, atol=1e-5)  # parts still add up to the garment


def test_refinement_options():
    img = flat()
    holes = segment(img, method="classical", options=SegmentOptions(fill_holes=True))
    assert holes.garment.numpy()[100, 67] == 1
    lines_out = segment(img, method="classical", options=SegmentOptions(grow_under_lines=False, fill_holes=False))
    assert lines_out.garment.numpy()[20, 70] == 0  # stops at the outline
    assert lines_out.garment.numpy()[30, 70] == 1
    one = segment(img, method="classical", options=SegmentOptions(max_parts=1))
    assert len(one.regions) == 1


def test_progress_and_cancel():
    events: list[SegmentProgress] = []
    segment(flat(), method="classical", on_progress=events.append)
    assert [e.stage for e in events] == ["read", "regions", "pick", "refine"]
    assert all(e.total >= e.step for e in events) and events[-1].elapsed >= 0

    def stop(ev):
        if ev.stage == "pick":
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        segment(flat(), method="classical", on_progress=stop)


class TestBadInput:
    def test_blank_page(self):
        with pytest.raises(SegmentationError, match="blank"):
            segment(np.ones((H, W, 3), np.float32), method="classical")

    def test_photo(self, shared_data):
        with pytest.raises(SegmentationError, match="does not look like line art"):
            segment(shared_data / "swatches" / "acg_denim.png", method="classical")

    def test_unreadable_file(self, tmp_path):
        p = tmp_path / "broken.png"
        p.write_bytes(b"\x89PNG garbage")
        with pytest.raises(ImageReadError):
            segment(p, method="classical")

    def test_no_closed_region(self):
        img = np.full((H, W), 255, np.uint8)
        cv2.polylines(img, [np.array([[20, 20], [120, 30], [60, 140]], np.int32)], False, 0, 2)
        with pytest.raises(SegmentationError, match="no closed region"):
            segment(img, method="classical")

    def test_bad_options_type(self):
        with pytest.raises(OptionsError):
            segment(flat(), options={"gap": 3})  # type: ignore[arg-type]

    def test_never_an_empty_mask(self):
        # a tiny closed shape on a big page still gives a (small, low-confidence) garment, not an empty one
        img = np.full((400, 400), 255, np.uint8)
        cv2.circle(img, (200, 200), 12, 0, 2)
        seg = segment(img, method="classical")
        assert seg.garment.sum() > 0 and seg.confidence < 0.9


def test_region_at_reuses_the_partition():
    seg = segment(flat(), method="classical")
    r = region_at(seg, 20, 62)
    assert r.mask.numpy()[62, 20] == 1 and r.mask.numpy()[40, 70] == 0
    with pytest.raises(OptionsError):
        region_at(seg, 20, 62, gap=12)


def test_imports_are_the_documented_names():
    import garmentstyle.segment as S

    for name in ("segment", "SegmentOptions", "Segmentation", "RegionInfo", "Strokes", "load_strokes",
                 "SamSegmenter", "region_at"):
        assert hasattr(S, name) and name in S.__all__
    assert Strokes and load_strokes
