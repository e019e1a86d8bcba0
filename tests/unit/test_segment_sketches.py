"""Real sketches: pencil scans and phone photos (degraded with garmentstyle.testing.degrade_sketch), broken lines,
marker flats, croquis, clicks on parts, the cleaned sketch, bad pages. Small sizes keep this file fast."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from garmentstyle.errors import SegmentationError
from garmentstyle.segment import lineart, region_at, segment
from garmentstyle.sketchprep import prepare
from garmentstyle.testing.degrade_sketch import DegradeOptions, degrade, load_item

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "data"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def sample(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    sk = SAMPLES / "sketches" / f"{name}.png"
    if not sk.exists():
        pytest.skip(f"samples/sketches/{name}.png not in the checkout")
    masks = {p.stem.split("__", 1)[1]: p for p in sorted((SAMPLES / "masks").glob(f"{name}__*.png"))}
    return load_item(sk, masks)


def shared(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    sk = SHARED / "sketches" / f"{name}.png"
    if not sk.exists():
        pytest.skip(f"../shared/data is absent ({sk} not found)")
    masks = {p.stem.split("__", 1)[1]: p for p in sorted((SHARED / "masks").glob(f"{name}__*.png"))}
    return load_item(sk, masks)


def garment_of(masks: dict[str, np.ndarray]) -> np.ndarray:
    return masks["garment"] if "garment" in masks else np.logical_or.reduce(list(masks.values()))


def skirt_dress(h: int = 320, w: int = 260) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A bodice on a flared skirt whose panels are split by three seams: ``(rgb, bodice gt, skirt gt)``."""
    img = np.full((h, w), 255, np.uint8)
    bod = np.array([[95, 30], [165, 30], [170, 120], [90, 120]], np.int32)
    sk = np.array([[90, 120], [170, 120], [230, 300], [30, 300]], np.int32)
    gb = np.zeros((h, w), np.uint8)
    gs = np.zeros((h, w), np.uint8)
    cv2.fillPoly(gb, [bod], 1)
    cv2.fillPoly(gs, [sk], 1)
    cv2.polylines(img, [bod, sk], True, 0, 3)
    for xt, xb in ((110, 75), (130, 130), (150, 185)):
        cv2.line(img, (xt, 120), (xb, 300), 0, 2)
    rgb = np.repeat((img.astype(np.float32) / 255.0)[..., None], 3, axis=2)
    return rgb, gb.astype(bool), (gs.astype(bool) & ~gb.astype(bool))


@pytest.fixture(autouse=True)
def _fresh():
    lineart.clear_cache()
    yield


class TestScans:
    @pytest.mark.parametrize("name, opts", [
        # light pencil: refused as "blank" before the adaptive ink
        ("tshirt", dict(kind="scan", style="pencil", long_side=1000, line_width=1.3, line_lightness=0.75, seed=3)),
        # a dark navy marker flat: once refused as "not line art" / "solid fill"
        ("dress", dict(kind="scan", style="pen", long_side=1000, line_lightness=0.2, marker=True, marker_colour=6,
                       seed=7)),
        # a phone photo turned 5°: segmented on the un-rotated grid (deskew is measured, not needed)
        ("jacket", dict(kind="photo", style="pen", long_side=1000, line_lightness=0.3, rotation=-5.0, seed=9)),
    ], ids=["light-pencil", "marker", "rotated-5deg"])
    def test_degraded_scan_is_segmented_not_refused(self, name, opts):
        rgb, masks = sample(name)
        d = degrade(rgb, masks, DegradeOptions(**opts))
        seg = segment(d.image, method="classical")
        assert seg.garment.shape == d.image.shape[:2]
        assert iou(seg.garment.numpy() > 0.5, garment_of(d.masks)) >= 0.9
        if opts.get("marker"):
            assert d.marker_parts and lineart.KIND_COLOUR in lineart.partition(d.image).kinds
        if opts.get("rotation"):
            assert abs(prepare(d.image, full=False).rotation - opts["rotation"]) <= 0.7

    def test_marker_covering_most_of_the_sheet_is_not_taken_for_the_paper(self):
        """A phone photo of a flat whose dark navy marker covers more of the sheet than the bare paper round it:
        the paper is the lighter edge-free area, not the larger (taken for the paper, the marker was flattened
        to white: IoU 0.58 at 1000 px, and the 3000 px photo was refused as "dark")."""
        from garmentstyle.testing.degrade_sketch import random_options

        rgb, masks = shared("fluent_coat")
        d = degrade(rgb, masks, random_options(502, long_side=1000))
        assert d.options.marker
        seg = segment(d.image, method="classical")
        assert iou(seg.garment.numpy() > 0.5, garment_of(d.masks)) >= 0.9
        assert prepare(d.image, full=False).work.raw_level > 0.6  # the paper's level, not the marker's

    def test_cleaned_phone_photo_is_white_paper_and_rotation_is_found(self):
        rgb, masks = sample("dress")
        o = DegradeOptions(kind="photo", style="pen", long_side=1000, line_lightness=0.2, paper=(0.93, 0.88, 0.76),
                           vignette=0.3, shadow=0.3, warm=0.08, rotation=2.5, seed=5)
        d = degrade(rgb, masks, o)
        raw_paper = d.image.astype(np.float32) / 255.0
        prep = prepare(d.image)
        clean = prep.cleaned[0].permute(1, 2, 0).numpy()
        g = garment_of(d.masks)
        paper = ~cv2.dilate(g.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
        hh, ww = paper.shape
        paper[: int(0.12 * hh)] = paper[int(0.88 * hh):] = False  # the sheet, away from the desk
        paper[:, : int(0.12 * ww)] = paper[:, int(0.88 * ww):] = False
        ys, xs = np.nonzero(paper)
        sel = np.ones(len(ys), bool)
        vals = clean[ys[sel], xs[sel]]
        assert np.median(vals) >= 0.98 and np.percentile(vals.min(-1), 5) >= 0.9  # white, evenly
        assert np.percentile(raw_paper[ys[sel], xs[sel]].min(-1), 5) < 0.8  # it was not white before
        assert abs(prep.rotation - o.rotation) <= 0.7 and prep.rotation_source == "page"
        ink = prep.ink.numpy()
        assert ink[paper].max() <= 0.05 and np.percentile(ink[ink > 0], 90) >= 0.5

    def test_broken_outline_panel_is_closed_and_reported(self):
        img = np.full((200, 220), 255, np.uint8)
        cv2.rectangle(img, (30, 30), (190, 170), 0, 2)
        cv2.line(img, (110, 30), (110, 170), 0, 2)
        img[60:64, 188:193] = 255  # a 4 px break in the right panel's outline
        seg = segment(img, method="classical")
        g = seg.garment.numpy() > 0.5
        assert g[100, 150] and g[100, 60]  # the broken panel is not dropped
        note = next(n for n in seg.notes if "broken outline" in n)
        assert "(190, 6" in note or "(189, 6" in note or "(191, 6" in note  # where the gap was bridged
        assert seg.confidence < 1.0


class TestCroquis:
    def test_croquis_leaves_out_head_and_legs(self):
        rgb, masks = shared("ocal_woman_coat_skirt")
        seg = segment(rgb, method="classical")
        g = seg.garment.numpy() > 0.5
        gt = garment_of(masks)
        assert seg.layout == "figure"
        ys = np.flatnonzero((rgb.mean(-1) < 0.5).any(1))
        top, bottom = ys.min(), ys.max()
        head = slice(top, top + int(0.1 * (bottom - top)))
        feet = slice(bottom - int(0.12 * (bottom - top)), bottom)
        assert g[head].sum() == 0 and g[feet].sum() == 0
        assert iou(g, gt) >= 0.75

    def test_confidence_falls_when_the_interpretation_is_wrong(self):
        from garmentstyle.segment.auto import Pick, figure_confidence, pick

        rgb, masks = shared("ocal_woman_coat_skirt")
        part = lineart.partition(rgb)
        good = pick(part)
        conf_good, _ = figure_confidence(part, good, part.mask(good.chosen))
        # A wrong reading: the head and limbs taken for the garment.
        wrong = Pick(good.excluded, good.scores, "figure", 0.0, list(good.notes), [])
        conf_wrong, notes = figure_confidence(part, wrong, part.mask(good.chosen))
        assert conf_good >= 0.7 > conf_wrong
        assert any("torso" in n or "stability" in n for n in notes)


class TestClicks:
    def test_click_in_a_paneled_skirt_selects_the_skirt(self):
        rgb, bodice, skirt = skirt_dress()
        seg = segment(rgb, method="classical")
        r = region_at(seg, 60, 280)  # in the leftmost skirt panel
        assert iou(r.mask.numpy() > 0.5, skirt) >= 0.9 and r.name == "part"
        b = region_at(seg, 130, 80)
        assert iou(b.mask.numpy() > 0.5, bodice) >= 0.9  # the bodice is a part of its own
        one = region_at(seg, 60, 280, scope="panel")
        assert one.area < 0.4 * r.area

    def test_click_on_a_degraded_scan_selects_the_part(self):
        rgb, masks = sample("trousers")
        d = degrade(rgb, masks, DegradeOptions(kind="photo", style="pencil", long_side=1000, line_width=1.5,
                                               line_lightness=0.6, seed=11))
        seg = segment(d.image, method="classical")
        gt = d.masks["left_leg"]
        dist = cv2.distanceTransform(gt.astype(np.uint8), cv2.DIST_L2, 5)
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        r = region_at(seg, x, y)
        assert r.mask.shape == gt.shape and iou(r.mask.numpy() > 0.5, gt) >= 0.75


class TestBadPages:
    def test_blank_photographed_page_is_refused(self):
        rgb = np.ones((300, 240, 3), np.float32)
        d = degrade(rgb, {}, DegradeOptions(kind="photo", long_side=800, seed=2))
        with pytest.raises(SegmentationError, match="blank"):
            segment(d.image, method="classical")

    def test_text_round_the_drawing_does_not_change_the_garment(self):
        rgb, masks = sample("tshirt")
        page = (rgb * 255).astype(np.uint8).copy()
        for i, line in enumerate(("Style 12 - cotton jersey", "front view, 1:4", "Designer: A.B.")):
            cv2.putText(page, line, (20, 700 + 22 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (60, 60, 60), 1, cv2.LINE_AA)
        seg = segment(page, method="classical")
        assert iou(seg.garment.numpy() > 0.5, garment_of(masks)) >= 0.95

    def test_sketch_touching_the_edge_is_not_a_whole_page_mask(self):
        rgb, masks = sample("dress")
        h, w = rgb.shape[:2]
        g = garment_of(masks)
        ys = np.flatnonzero(g.any(1))
        crop = rgb[ys.min() + 40:]  # the straps cut by the top edge
        seg = segment(crop, method="classical")
        m = seg.garment.numpy() > 0.5
        assert m.mean() < 0.8
        assert iou(m, g[ys.min() + 40:]) >= 0.85

    def test_two_figures_are_both_segmented_with_a_note(self):
        a, _ = shared("ocal_woman_coat_skirt")
        b, _ = shared("ocal_woman_green_dress")
        seg = segment(np.concatenate([a, b], axis=1), method="classical")
        assert any("separate drawings" in n for n in seg.notes)
        assert seg.confidence < 0.7
        m = seg.garment.numpy() > 0.5
        assert m[:, : a.shape[1]].any() and m[:, a.shape[1]:].any()


class TestSamCroquis:
    def test_sam_on_a_large_croquis_scan_is_prompted_from_the_torso(self, monkeypatch):
        """Plumbing with a tiny random ViT (no weights here): a 1400 px croquis scan is partitioned on its working
        copy, the prompts (torso point, garment box) come back in sketch px, the parts at the sketch's size."""
        import sys

        sys.path.insert(0, str(Path(__file__).parent))
        from test_segment_sam import tiny_sam

        from garmentstyle.segment import SamSegmenter

        rgb, masks = shared("ocal_woman_green_dress")
        d = degrade(rgb, masks, DegradeOptions(kind="scan", style="pen", long_side=1400, line_lightness=0.2, seed=9))
        sam = SamSegmenter(sam=tiny_sam())
        seen = {}
        orig = sam.predict

        def spy(points=None, labels=None, box=None, **kw):
            seen["points"], seen["box"] = points, box
            return orig(points, labels, box, **kw)

        monkeypatch.setattr(sam, "predict", spy)
        seg = segment(d.image, method="sam", sam=sam)
        h, w = d.image.shape[:2]
        assert seg.garment.shape == (h, w) and seg.labels.shape == (h, w)
        box = np.asarray(seen["box"])
        gt = garment_of(d.masks)
        ys, xs = np.nonzero(gt)
        assert box[2] > 0.9 * xs.max() and box[3] > 0.9 * ys.max()  # in sketch px, not working-copy px
        pts = np.asarray(seen["points"])
        assert any(gt[int(y), int(x)] for x, y in pts)  # a positive prompt on the garment (the torso point)


class TestRenderOnCleanedSketch:
    def test_render_of_a_phone_photo_looks_drawn_on_clean_paper(self):
        import torch

        import garmentstyle as gs

        rgb, masks = sample("dress")
        d = degrade(rgb, masks, DegradeOptions(kind="photo", style="pen", long_side=600, line_lightness=0.2,
                                               paper=(0.92, 0.87, 0.75), vignette=0.3, seed=13))
        g = garment_of(d.masks)
        sw = torch.full((1, 3, 32, 32), 0.5)
        sw[:, 0] = 0.8
        opts = dict(size=128, iterations=2, preview_every=0, encoder="texture")
        clean = gs.render(d.image, [gs.Region(torch.from_numpy(g.astype(np.float32)), sw, name="dress")],
                          gs.RenderOptions(**opts))
        kept = gs.render(d.image, [gs.Region(torch.from_numpy(g.astype(np.float32)), sw, name="dress")],
                         gs.RenderOptions(keep_paper=True, **opts))
        assert any("cleaned sketch" in n for n in clean.report.notes)
        h, w = clean.image.shape[-2:]
        centre = (slice(int(0.15 * h), int(0.85 * h)), slice(int(0.15 * w), int(0.85 * w)))
        outside = torch.from_numpy(cv2.resize((~g).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0)
        sel = torch.zeros(h, w, dtype=torch.bool)
        sel[centre] = outside[centre]
        paper_clean = clean.image[0][:, sel].median(dim=1).values
        paper_kept = kept.image[0][:, sel].median(dim=1).values
        assert paper_clean.min() >= 0.97  # white paper
        assert paper_kept[2] < 0.85  # the photo's cream paper, kept on request

    def test_marker_fill_outside_the_outlines_keeps_its_colour(self):
        """The finishing's cleaned sketch: a marker fill inside a closed outline (the fabric's placeholder) is
        divided out to white; a marker swash on the paper outside every outline keeps its colour."""
        import torch

        from garmentstyle.sketchprep import for_render

        h, w = 400, 400
        rgb = np.ones((h, w, 3), np.float32) * np.array([0.93, 0.89, 0.80], np.float32)  # cream paper
        yy, xx = np.mgrid[:h, :w]
        rgb *= (1.0 - 0.12 * (((yy - 200) ** 2 + (xx - 200) ** 2) / 200.0**2))[..., None]  # vignette
        marker = np.array([0.35, 0.55, 0.85], np.float32)
        rgb[80:300, 80:240] *= marker  # inside the outline drawn below
        rgb[320:380, 260:380] *= marker  # on the paper, outside every outline
        cv2.rectangle(rgb, (80, 80), (240, 300), (0.05, 0.05, 0.05), 4)
        prep = for_render(torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None])
        out, note = prep.sketch, prep.note
        img = out[0].permute(1, 2, 0).numpy()
        assert note and "placeholder" in note
        inside = np.median(img[120:260, 120:200].reshape(-1, 3), axis=0)
        outside = np.median(img[335:365, 280:360].reshape(-1, 3), axis=0)
        assert inside.min() > 0.9  # divided out: the fabric is not darkened by the marker
        assert outside[0] < 0.6 and outside[2] > outside[0] + 0.2  # still the blue marker
