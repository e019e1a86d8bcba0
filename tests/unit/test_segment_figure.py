"""The croquis reading (garmentstyle.segment.figure): shape priors, neighbour votes, ambiguity.

Built on a tiny synthetic figure drawn with OpenCV so each property is checked on a known layout; the real croquis
are covered by tests/unit/test_segment_auto.py and bench/bench_segment.py."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from garmentstyle.segment import lineart
from garmentstyle.segment.auto import main_regions, pick, silhouette, torso_point
from garmentstyle.segment.figure import P_BIG, P_CROOK, P_DETAIL, P_LIMB, Figure, interpret, shape_prior


def _figure(bent_arm: bool = True, collar: bool = True) -> np.ndarray:
    """A standing figure, 600 px tall: head, neck, a dress (bodice + skirt), straight arm on the left, an arm bent
    to the hip on the right (it frames a hole of paper), legs; optional collar pieces beside the neck."""
    img = np.full((640, 420), 255, np.uint8)
    k = 3
    cv2.ellipse(img, (210, 70), (38, 48), 0, 0, 360, 0, k)  # head
    cv2.rectangle(img, (195, 118), (225, 150), 0, k)  # neck
    if collar:
        cv2.rectangle(img, (170, 140), (195, 160), 0, k)
        cv2.rectangle(img, (225, 140), (250, 160), 0, k)
    body = np.array([[150, 150], [270, 150], [280, 300], [300, 460], [120, 460], [140, 300]], np.int32)
    cv2.polylines(img, [body], True, 0, k)
    cv2.line(img, (140, 300), (280, 300), 0, k)  # waist seam
    cv2.polylines(img, [np.array([[150, 155], [110, 170], [85, 380], [105, 382], [128, 200]], np.int32)], True, 0, k)
    if bent_arm:
        cv2.polylines(img, [np.array([[270, 155], [345, 230], [285, 290], [278, 262], [318, 232], [272, 185]],
                                     np.int32)], True, 0, k)
    cv2.polylines(img, [np.array([[160, 460], [165, 620], [195, 620], [200, 460]], np.int32)], True, 0, k)
    cv2.polylines(img, [np.array([[220, 460], [225, 620], [255, 620], [260, 460]], np.int32)], True, 0, k)
    return np.repeat(img[..., None], 3, 2)


@pytest.fixture(scope="module")
def drawn():
    lineart.clear_cache()
    part = lineart.partition(_figure())
    return part, pick(part, layout="figure")


def _label_at(part, x, y) -> int:
    return int(part.labels[y, x])


def test_dress_is_kept_and_body_left_out(drawn):
    part, pk = drawn
    assert pk.layout == "figure"
    chosen = set(pk.chosen)
    assert _label_at(part, 210, 220) in chosen  # bodice
    assert _label_at(part, 210, 400) in chosen  # skirt, through the waist seam
    for x, y in ((210, 70), (180, 560), (240, 560), (100, 300)):  # head, legs, straight arm
        assert _label_at(part, x, y) not in chosen, (x, y)


def test_collar_beside_the_neck_goes_with_the_dress_not_the_neck(drawn):
    part, pk = drawn
    assert _label_at(part, 182, 150) in pk.chosen
    assert _label_at(part, 210, 134) not in pk.chosen  # the neck itself


def test_bent_forearm_is_a_limb_by_its_place_on_the_figure(drawn):
    part, pk = drawn
    cand = main_regions(part)
    sil = silhouette(part, cand)
    fore = _label_at(part, 332, 230)
    head = frozenset(l for l in pk.excluded if part.cy[l - 1] < 120)
    body = {int(l) for l in cand} - head
    face_area = float(max(part.area[l - 1] for l in head))
    torso = torso_point(part, sil)
    fig = Figure(cand, head, frozenset(), (sil.top, sil.bottom, sil.left, sil.right), face_area, torso, 210.0)
    prior = shape_prior(part, body, fig)
    assert prior[fore] == P_LIMB  # not at the silhouette's side, but far out from the axis
    assert fore not in pk.chosen
    hole = _label_at(part, 292, 226)  # the paper the bent arm frames: in the crook of the arm, left out
    assert prior[hole] == P_CROOK and hole not in pk.chosen
    assert prior[_label_at(part, 210, 400)] == P_BIG


def test_reading_without_a_torso_seed_says_so(drawn):
    part, pk = drawn
    cand = main_regions(part)
    sil = silhouette(part, cand)
    fig = Figure(cand, frozenset(), frozenset(), (sil.top, sil.bottom, sil.left, sil.right), 0.0, (0, 0), 0.0)
    r = interpret(part, fig)
    assert any("torso" in n for n in r.notes)
    assert r.garment  # still the largest plausible group
    assert all(0.0 <= v <= 1.0 for v in r.p.values())


def test_ambiguity_grows_when_the_votes_are_split(drawn):
    """A panel bordered half by the head (votes 0) and half by the dress has no shape prior and splits its votes:
    a coin toss, which the reading measures and the confidence pays for."""
    part, pk = drawn
    img = _figure()
    cv2.polylines(img, [np.array([[228, 100], [262, 100], [262, 152], [228, 152]], np.int32)], True, (0, 0, 0), 3)
    lineart.clear_cache()
    split = pick(lineart.partition(img), layout="figure")
    assert split.toss > pk.toss
    assert split.confidence < pk.confidence


def test_click_on_a_figure_selects_the_top_or_the_bottom_whole():
    """The synthetic figure's garment is a bodice over a skirt (one waist seam); its bodice is drawn as three
    panels (centre front + two sides), which a click takes together, and the skirt stays apart."""
    from garmentstyle.segment import SegmentOptions, region_at, segment

    img = _figure()
    cv2.line(img, (185, 150), (180, 300), (0, 0, 0), 3)
    cv2.line(img, (235, 150), (240, 300), (0, 0, 0), 3)
    lineart.clear_cache()
    seg = segment(img, method="classical", options=SegmentOptions(layout="figure"))
    top = region_at(seg, 210, 220).mask.numpy() > 0.5
    bottom = region_at(seg, 210, 400).mask.numpy() > 0.5
    assert top[220, 160] and top[220, 260]  # the side panels came with the centre front
    assert not top[400, 210] and not bottom[220, 210]
    assert bottom[440, 140] and bottom[440, 280]
    one = region_at(seg, 210, 220, scope="panel").mask.numpy() > 0.5
    assert one.sum() < top.sum() and not one[220, 160]


def test_a_click_before_any_segmentation_takes_the_same_piece():
    """region_at on the sketch itself (the web app's click before Find garment) groups a figure's garment like a
    click on the segmentation does."""
    from garmentstyle.segment import SegmentOptions, region_at, segment

    img = _figure()
    cv2.line(img, (185, 150), (180, 300), (0, 0, 0), 3)
    cv2.line(img, (235, 150), (240, 300), (0, 0, 0), 3)
    opts = SegmentOptions(layout="figure")
    lineart.clear_cache()
    seg = segment(img, method="classical", options=opts)
    for x, y in ((210, 220), (210, 400)):
        a = region_at(seg, x, y).mask.numpy() > 0.5
        b = region_at(img, x, y, options=opts).mask.numpy() > 0.5
        assert (a == b).all() and b.sum() > 0


def _figure_holding_a_bag() -> np.ndarray:
    """The bent-arm figure with a bag held in the crook of the arm (drawn over the paper the arm frames) and a
    badge on the bodice: neither is garment fabric."""
    img = _figure()
    cv2.rectangle(img, (281, 238), (300, 262), (0, 0, 0), 3)  # the bag, between the arm and the body
    cv2.circle(img, (240, 200), 8, (0, 0, 0), 3)  # a badge drawn on the bodice
    return img


def test_a_held_bag_and_a_badge_are_not_garment():
    """The crook of the arm (the paper the bent arm frames, and the bag held there) and a small compact badge
    inside one panel are left out of the garment, and the garment mask does not fill them back in."""
    from garmentstyle.segment import SegmentOptions, segment

    img = _figure_holding_a_bag()
    lineart.clear_cache()
    part = lineart.partition(img)
    pk = pick(part, layout="figure")
    bag, badge, crook = _label_at(part, 290, 250), _label_at(part, 240, 200), _label_at(part, 292, 226)
    assert len({bag, badge, crook, _label_at(part, 210, 220)}) == 4  # four regions
    for lab in (bag, badge, crook):
        assert lab not in pk.chosen, lab
    assert _label_at(part, 210, 220) in pk.chosen and _label_at(part, 210, 400) in pk.chosen
    seg = segment(img, method="classical", options=SegmentOptions(layout="figure"))
    g = seg.garment.numpy() > 0.5
    assert not g[200, 240] and not g[250, 290]  # holes left open (fill_holes would close the badge)
    assert g[220, 210] and g[230, 215]


def test_badge_prior_needs_a_small_compact_region_inside_one_panel():
    """The detail prior: the badge (small, compact, inside the bodice alone) gets it; the bodice and the skirt
    (big) and the collar pieces (beside the neck and the bodice) do not."""
    img = _figure_holding_a_bag()
    lineart.clear_cache()
    part = lineart.partition(img)
    pk = pick(part, layout="figure")
    cand = main_regions(part)
    sil = silhouette(part, cand)
    head = frozenset(l for l in pk.excluded if part.cy[l - 1] < 120)
    body = {int(l) for l in cand} - head
    face_area = float(max(part.area[l - 1] for l in head))
    fig = Figure(cand, head, frozenset(), (sil.top, sil.bottom, sil.left, sil.right), face_area,
                 torso_point(part, sil), 210.0)
    prior = shape_prior(part, body, fig)
    assert prior[_label_at(part, 240, 200)] == P_DETAIL
    for x, y in ((182, 150), (210, 220), (210, 400)):
        assert prior[_label_at(part, x, y)] != P_DETAIL, (x, y)


def test_outline_between_garment_and_body_is_no_ones_seams_stay():
    """On a figure the garment mask stops at its outline against the paper and the arms, and keeps its interior
    seam (the waist line); a flat keeps its outline."""
    from garmentstyle.segment import SegmentOptions, segment

    img = _figure()
    lineart.clear_cache()
    g = segment(img, method="classical", options=SegmentOptions(layout="figure")).garment.numpy() > 0.5
    assert g[300, 210]  # on the waist seam (interior line)
    assert not g[380, 291] and g[380, 280]  # the skirt's outer outline (x ≈ 291 at y 380) is left out
    lineart.clear_cache()
    flat = segment(img, method="classical", options=SegmentOptions(layout="flat")).garment.numpy() > 0.5
    assert flat[380, 291]
