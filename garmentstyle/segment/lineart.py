"""Classical line-art segmentation: binarise, close gaps, find the enclosed regions, grow them back under the lines.

The pipeline (all OpenCV / scipy on the CPU; ~0.1-0.3 s for a 1024 px sketch):

1. **Binarise.** Luminance below a threshold is ink. The threshold is Otsu's, clamped to [0.30, 0.60], so light
   grey shading (0.75-0.95) and paper texture never count as lines (override: ``ink_threshold``).
2. **Close gaps (trapped ball).** A ball of radius ``gap / 2`` rolls through the paper: the places its centre can
   reach (distance to the nearest ink > ``gap / 2``) split into one connected piece per region, because the ball
   cannot squeeze through openings narrower than ``gap``. Each piece then floods the rest of its paper in order of
   decreasing distance to the ink (a watershed on the distance map, ``scipy.ndimage.watershed_ift``), so two regions
   joined by a gap meet at the gap's narrowest point. Paper areas too narrow for the ball keep their own region.
   ``gap=None`` searches the smallest gap (0, 2, 3, 4, 6, 8, ...) at which the drawing encloses most of what it can.
3. **Background** = the region(s) touching the canvas border (the largest border contact, and any with ≥ 25 % of it).
4. **Solid fills.** Ink much thicker than the typical stroke (hair, shoes, a black lapel) becomes a region of its own
   (``kind="fill"``) instead of being shared out like a line.
5. **Grow under the lines.** Every line pixel joins its nearest region (never the background), so a garment mask
   includes its outline and two parts split a seam between them. Ink not attached to any region (stray marks,
   captions) stays background.

:func:`partition` returns every region of the drawing with its statistics (:class:`Partition`); picking the garment
is :mod:`.auto`'s job, selecting by strokes :mod:`.strokes`'.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np
import scipy.ndimage as ndi

from ..cache import LRUCache, levels_key
from ..errors import SegmentationError
from ..resources import register
from .types import SegmentOptions

#: Gap tolerances (px) the automatic search tries, smallest first.
GAP_LADDER: tuple[int, ...] = (0, 2, 3, 4, 6, 8, 11, 16, 22, 32, 45, 64)
#: Otsu's threshold is clamped into this range (grey levels in [0, 1]).
THRESHOLD_RANGE: tuple[float, float] = (0.30, 0.60)

KIND_ENCLOSED = "enclosed"
KIND_FILL = "fill"
#: A flat colour area (marker, wash) found by the sketch preparation's colour segmentation.
KIND_COLOUR = "colour"
#: Long side (px) the partition works at; larger sketches are analysed downscaled and the results mapped back.
WORK_SIDE = 1024


# ----------------------------------------------------------------------------------------------------------------
# input


def to_grey(sketch) -> np.ndarray:
    """Any sketch (path, bytes, PIL, ``(H, W[, 3])`` array, ``(1, 3, H, W)`` tensor) → luminance ``(H, W)`` float32.

    Raises:
        ImageReadError: unreadable input (see :mod:`garmentstyle.io`).
    """
    from ..io import read_rgb

    if isinstance(sketch, np.ndarray) and sketch.ndim == 2 and sketch.dtype == np.float32:
        return np.clip(sketch, 0.0, 1.0)
    rgb = read_rgb(sketch)
    return np.ascontiguousarray(rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32), dtype=np.float32)


def image_key(grey: np.ndarray) -> str:
    """A content key of a grey sketch (for :func:`partition`'s cache), on its 8-bit levels
    (:func:`~garmentstyle.cache.levels_key`)."""
    return levels_key(grey)


def ink_threshold(grey: np.ndarray) -> float:
    """Otsu's threshold of ``grey`` ``(H, W)`` in [0, 1], clamped to :data:`THRESHOLD_RANGE`."""
    g8 = (np.clip(grey, 0, 1) * 255 + 0.5).astype(np.uint8)
    t, _ = cv2.threshold(g8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(min(max(t / 255.0, THRESHOLD_RANGE[0]), THRESHOLD_RANGE[1]))


def _check_not_uniform(grey: np.ndarray) -> None:
    h, w = grey.shape
    if float(grey.max() - grey.min()) < 0.05:
        raise SegmentationError(
            f"no line art found: the page is blank (one flat grey level, {float(grey.mean()):.2f}, over {w}×{h}); "
            "expected dark lines on light paper"
        )


def check_line_art(grey: np.ndarray, ink: np.ndarray) -> list[str]:
    """Refuse what is not line art on light paper; return notes for what is doubtful.

    Args:
        grey: ``(H, W)`` float in [0, 1].
        ink: ``(H, W)`` bool, the binarised lines.

    Raises:
        SegmentationError: a blank page, or a photo / dark image instead of line art.
    """
    h, w = grey.shape
    n = h * w
    ink_px = int(ink.sum())
    _check_not_uniform(grey)
    if ink_px < max(16, n // 20000):
        raise SegmentationError(
            f"no line art found: the page is blank ({ink_px} dark pixels in {w}×{h}); "
            "expected dark lines on light paper"
        )
    ink_frac = ink_px / n
    paper_frac = float((grey > 0.70).mean())
    # A photo has many mid-tones that are neither paper nor ink; anti-aliased line art has very few.
    lo, hi = 0.15, 0.70
    mid = float(((grey > lo) & (grey < hi)).mean())
    # Texture: the share of pixels with a strong local gradient that are not next to ink-to-paper edges.
    if ink_frac > 0.6 or paper_frac < 0.25 or mid > 0.35:
        raise SegmentationError(
            f"this does not look like line art ({ink_frac:.0%} dark, {paper_frac:.0%} light, {mid:.0%} mid-tone "
            "pixels); expected a drawing with dark lines on light paper. For a photo use --method sam, or trace it "
            "first"
        )
    # Speckle / noise: most of the ink in specks of a few pixels, or dense ink riddled with tiny paper holes.
    _, _, st, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    speck_ink = float(st[1:, cv2.CC_STAT_AREA][st[1:, cv2.CC_STAT_AREA] < 6].sum()) / max(ink_px, 1)
    tiny_holes = 0
    if ink_frac > 0.3:
        _, _, st2, _ = cv2.connectedComponentsWithStats((~ink).astype(np.uint8), connectivity=4)
        tiny_holes = int((st2[1:, cv2.CC_STAT_AREA] < 6).sum())
    if speck_ink > 0.6 or tiny_holes > 0.002 * n:
        why = (
            f"{speck_ink:.0%} of the dark pixels are isolated specks"
            if speck_ink > 0.6
            else f"{ink_frac:.0%} dark, riddled with {tiny_holes} pinholes"
        )
        raise SegmentationError(
            f"this looks like noise or a texture, not line art ({why}); expected a drawing with connected dark "
            "lines on light paper. Clean the scan (despeckle) or use --method sam"
        )
    notes = []
    if mid > 0.15:
        notes.append(f"many mid-grey pixels ({mid:.0%}): is this a photo or a heavily shaded sketch?")
    if ink_frac > 0.35:
        notes.append(f"much of the page is dark ({ink_frac:.0%}); the line art may be too heavy to segment well")
    return notes


def check_drawing(work) -> list[str]:
    """Refuse what is not a drawing, on the prepared sketch (a :class:`~garmentstyle.sketchprep.WorkImage`);
    return notes. Flat colour fills count as drawing (a marker flat), texture does not (a photo).

    Raises:
        SegmentationError: a blank page, a photo / texture, or noise.
    """
    from ..sketchprep import texture

    page = work.page
    h, w = page.shape
    n = max(int(page.sum()), 1)
    lines = work.lines & page
    fills = (work.fills > 0) & page
    dark = ((work.grey < 0.7) & page) | lines
    if dark.sum() >= max(16, n // 200):
        _, _, st, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8), connectivity=8)
        areas = st[1:, cv2.CC_STAT_AREA]
        speck_share = float(areas[areas < 6].sum()) / max(int(dark.sum()), 1)
        if speck_share > 0.6:
            raise SegmentationError(
                f"this looks like noise or a texture, not line art ({speck_share:.0%} of the dark pixels are "
                "isolated specks); expected a drawing with connected dark lines on light paper. Clean the scan "
                "(despeckle) or use --method sam"
            )
    ink_frac = float(lines.sum()) / n
    fill_frac = float(fills.sum()) / n
    paper_frac = 1.0 - ink_frac - fill_frac
    tex = texture(work)
    if work.raw_level < 0.4 or work.noise > 0.035:
        raise SegmentationError(
            f"this does not look like line art (the image is {'dark' if work.raw_level < 0.4 else 'textured'}: "
            f"median grey {work.raw_level:.2f}, fine-detail noise {work.noise:.3f}); expected a drawing on light "
            "paper. For a photo use --method sam, or trace it first"
        )
    if ink_frac > 0.45 or paper_frac < 0.2 or tex > 0.3:
        raise SegmentationError(
            f"this does not look like line art ({ink_frac:.0%} lines, {fill_frac:.0%} colour fills, "
            f"{tex:.0%} textured, {paper_frac:.0%} bare paper); expected a drawing on paper. For a photo use "
            "--method sam, or trace it first"
        )
    if int(lines.sum()) + int(fills.sum()) < max(16, n // 20000):
        raise SegmentationError(
            f"no line art found: the page is blank (no line or fill darker than the paper's noise in {w}×{h}); "
            "expected dark lines on light paper"
        )
    notes = []
    if tex > 0.12:
        notes.append(f"much texture off the lines ({tex:.0%} of the page): is this a photo or a shaded sketch?")
    if fill_frac > 0.01:
        notes.append(f"flat colour fills ({fill_frac:.0%} of the page) were taken as regions of their own")
    return notes


# ----------------------------------------------------------------------------------------------------------------
# the partition


@dataclass
class Partition:
    """Every region of a drawing (output of :func:`partition`); numpy inside, it is internal to the segmenters.

    Attributes:
        labels: ``(H, W)`` int32: 0 = background, 1..N = regions; line pixels belong to their nearest region.
        free_labels: ``(H, W)`` int32: the same ids on the paper pixels only (0 on ink and background).
        ink: ``(H, W)`` bool: the binarised line art.
        kinds: per region (index ``label - 1``): ``"enclosed"`` or ``"fill"``.
        area, cx, cy, radius, border: per region (index ``label - 1``): pixel count, centroid, largest inscribed
            circle radius (px), number of canvas-border pixels it touches.
        boxes: per region ``(x0, y0, x1, y1)`` exclusive ends.
        adjacency: ``(N + 1, N + 1)`` int: shared boundary length in px between labels (0 = background).
        gap: the gap tolerance used (px); threshold: the ink threshold (NaN: adaptive, from sketch preparation);
            stroke: the typical line width (px).
        closure: in [0, 1]: how well the drawing closes its regions (1 = closed without any gap closing).
        notes: warnings for the user.
        bridges: ``(x, y, gap)`` (partition px) where the automatic gap closed a broken outline.
        scale: partition px per input px (≤ 1: large sketches are partitioned on a downscaled working copy);
            size: the input's ``(H, W)``; rotation: the drawing's small rotation (degrees, clockwise), from
            sketch preparation.
    """

    labels: np.ndarray
    free_labels: np.ndarray
    ink: np.ndarray
    grey: np.ndarray
    kinds: list[str]
    area: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    radius: np.ndarray
    border: np.ndarray
    boxes: np.ndarray
    adjacency: np.ndarray
    gap: int
    threshold: float
    stroke: float
    closure: float
    notes: list[str] = field(default_factory=list)
    bridges: list[tuple[float, float, int]] = field(default_factory=list)
    scale: float = 1.0
    size: Optional[tuple[int, int]] = None
    rotation: float = 0.0
    groups: Optional[np.ndarray] = None
    click_groups: Optional[np.ndarray] = None
    #: On a figure, the garment a click's piece is cut to (working px; :func:`.classical.figure_garment`); cached.
    click_garment: Optional[np.ndarray] = None

    def part_groups(self) -> np.ndarray:
        """``(N + 1,)`` group id per label: panels of one garment part share one (see :mod:`.parts`); cached."""
        if self.groups is None:
            from .parts import panel_groups

            self.groups = panel_groups(self)
        return self.groups

    def click_part_groups(self, layout: str = "auto") -> np.ndarray:
        """What a click takes before any segmentation ran (``region_at`` on a sketch): :meth:`part_groups`, and on
        a figure the garment's pieces (:func:`.figure.garment_pieces`), as a segmentation's clicks do; cached."""
        if self.click_groups is None:
            from .auto import pick
            from .figure import garment_pieces

            groups = self.part_groups()
            try:
                pk = pick(self, layout=layout)
            except SegmentationError:
                pk = None
            if pk is not None and pk.layout == "figure":
                from .classical import figure_garment
                from .types import SegmentOptions

                groups = garment_pieces(self, pk.chosen, groups)
                self.click_garment = figure_garment(self, pk.chosen, SegmentOptions())
            self.click_groups = groups
        return self.click_groups

    @property
    def full_size(self) -> tuple[int, int]:
        """``(H, W)`` of the input sketch (the partition itself is at ``shape``, ``scale`` × smaller)."""
        return self.size if self.size is not None else self.shape

    @property
    def n(self) -> int:
        return len(self.kinds)

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    def mask(self, labels) -> np.ndarray:
        """``(H, W)`` bool: the union of the given region labels."""
        lut = np.zeros(self.n + 1, bool)
        lut[np.asarray(list(labels), dtype=np.int64)] = True
        lut[0] = False
        return lut[self.labels]


def _speck_px(shape: tuple[int, int], options: SegmentOptions) -> int:
    if options.min_speck is not None:
        return int(options.min_speck)
    return max(12, int(round(shape[0] * shape[1] * 0.0002)))


def _max_gap(shape: tuple[int, int], options: SegmentOptions) -> int:
    """The largest gap the automatic search tries: ``options.max_gap``, else 1 % of the long side (≥ 6 px): pencil
    breaks are a few px; larger openings are the drawing's own (between legs, a neckline) and are not bridged."""
    if options.max_gap is not None:
        return int(options.max_gap)
    return max(6, int(round(max(shape) * 0.01)))


def _border_contact(lab: np.ndarray, n: int) -> np.ndarray:
    edge = np.concatenate([lab[0], lab[-1], lab[1:-1, 0], lab[1:-1, -1]])
    return np.bincount(edge.ravel(), minlength=n + 1)


def _background_ids(contact: np.ndarray, *, strict: bool = True) -> np.ndarray:
    """Labels (≥ 1) that are background: every area of paper touching the canvas border (``strict``), or only the
    largest border contact and any with ≥ 25 % of it (for drawings that run off the canvas)."""
    c = contact.copy()
    c[0] = 0
    if c.max(initial=0) == 0:
        return np.zeros(0, np.int64)
    if strict:
        return np.flatnonzero(c > 0)
    return np.flatnonzero(c >= max(1, 0.25 * c.max()))


@dataclass
class GapChoice:
    """What the automatic gap search found.

    Attributes:
        gap: the gap tolerance chosen (px).
        share: enclosed paper at that gap / the drawing's box area.
        bridges: ``(x, y, gap)`` in px of the openings bridged to close panels (where a line was broken).
        steps: ``(gap, enclosed share, panels appearing)`` per tried gap, for reports and tests.
    """

    gap: int
    share: float
    bridges: list[tuple[float, float, int]] = field(default_factory=list)
    steps: list[tuple[int, float, int]] = field(default_factory=list)


def _enclosed(free: np.ndarray, dist: np.ndarray, g: int, strict: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """The paper a ball of diameter ``g`` rolling in from the border cannot reach: ``(enclosed (H, W) bool,
    ball-centre components int32 (H, W), their count + 1)``."""
    seeds = (free if g <= 1 else dist > g / 2.0).astype(np.uint8)
    n, lab = cv2.connectedComponents(seeds, connectivity=4, ltype=cv2.CV_32S)
    if n <= 1:
        return free.copy(), lab, n
    bg = _background_ids(_border_contact(lab, n - 1), strict=strict)
    reach = np.isin(lab, bg) if len(bg) else np.zeros(free.shape, bool)
    if g > 1 and reach.any():
        # Everything the ball's body sweeps: within g/2 of a reachable centre.
        reach = cv2.distanceTransform((~reach).astype(np.uint8), cv2.DIST_L2, 3) <= g / 2.0 + 0.5
    return free & ~reach, lab, n


def _splits(lab: np.ndarray, n: int, prev_lab: np.ndarray, prev_n: int, enc: np.ndarray, dist: np.ndarray, g: int,
            min_area: float) -> list[tuple[float, float]]:
    """Enclosed regions that split in two as the ball grows to ``g`` (a broken seam between two panels closes):
    the centroid of each new piece. Pieces count when clearly wider than the gap (inscribed radius ≥ 2 g: a
    topstitched band or a finger is not a panel) and not tiny."""
    core = enc & (dist >= max(2.0 * g, g / 2.0 + 1.0))
    if not core.any():
        return []
    has_core = np.bincount(lab[core], minlength=n) > 0
    area = np.bincount(lab[enc], minlength=n)
    big = np.flatnonzero(has_core & (area >= max(min_area, 16.0 * g * g)))
    big = big[big > 0]
    if len(big) < 2:
        return []
    prev_of = np.zeros(n, np.int64)
    prev_of[lab[core]] = prev_lab[core]
    out: list[tuple[float, float]] = []
    owners = prev_of[big]
    for p in np.unique(owners):
        kids = big[owners == p]
        if p == 0 or len(kids) < 2:
            continue
        kids = sorted(kids, key=lambda k: -area[k])
        for k in kids[1:]:
            ys, xs = np.nonzero(lab == k)
            out.append((float(xs.mean()), float(ys.mean())))
    return out


def choose_gap(
    free: np.ndarray, dist: np.ndarray, ink: np.ndarray, speck: int, max_gap: int, *, strict: bool = True
) -> GapChoice:
    """Choose the gap by what it closes. For each gap of :data:`GAP_LADDER` (≤ ``max_gap``) the paper a ball of
    that diameter cannot reach from outside is *enclosed*. A **panel appears** at a gap when (a) newly enclosed
    paper forms a piece wider than the gap (inscribed radius ≥ 0.75 × gap), not tiny, with a narrow mouth: a broken
    outline that the gap closes; or (b) an enclosed region splits into two wide pieces: a broken seam between two
    panels. Newly enclosed channels as narrow as the ball (between two legs, in a corner) are openings of the
    drawing, not breaks, and do not count. The chosen gap is the largest at which a panel appeared (0 if none);
    where each was is reported as a bridge.

    Raises:
        SegmentationError: nothing is enclosed even at ``max_gap``.
    """
    ys, xs = np.nonzero(ink)
    bbox_area = float((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)) if len(xs) else float(free.size)
    ladder = [g for g in GAP_LADDER if g <= max_gap] or [0]
    min_area = max(speck, 0.002 * bbox_area)
    prev, prev_lab, prev_n = _enclosed(free, dist, ladder[0], strict)
    shares = [float(prev.sum()) / bbox_area]
    steps = [(ladder[0], shares[0], 0)]
    chosen, bridges = ladder[0], []
    for g in ladder[1:]:
        enc, lab, n = _enclosed(free, dist, g, strict)
        shares.append(float(enc.sum()) / bbox_area)
        new = enc & ~prev
        found: list[tuple[float, float, int]] = []
        if new.sum() >= min_area:
            nn, nlab, st, cen = cv2.connectedComponentsWithStats(new.astype(np.uint8), connectivity=4)
            big = [i for i in range(1, nn) if st[i, cv2.CC_STAT_AREA] >= max(min_area, 4.0 * g * g)]
            if big:
                denc = cv2.distanceTransform(enc.astype(np.uint8), cv2.DIST_L2, 3)
                rad_all = np.zeros(nn, np.float32)
                np.maximum.at(rad_all, nlab[new], denc[new])
                outside = cv2.dilate((free & ~enc).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
                for i in big:
                    if rad_all[i] < 0.75 * g:
                        continue
                    mouth = (nlab == i) & outside
                    if mouth.sum() > 3 * g + 6:  # a wide mouth: an opening of the drawing, not a break
                        continue
                    my, mx = np.nonzero(mouth) if mouth.any() else (np.array([cen[i][1]]), np.array([cen[i][0]]))
                    found.append((float(mx.mean()), float(my.mean()), int(g)))
        if g > 1:
            # Splits must leave panels of some size (≥ 1.5 % of the drawing's box): a cuff or a hem band
            # topstitched with a dashed line is detail, not a panel the gap should cut off.
            found += [(x, y, int(g)) for x, y in
                      _splits(lab, n, prev_lab, prev_n, enc & prev, dist, g, max(min_area, 0.015 * bbox_area))]
        steps.append((g, shares[-1], len(found)))
        if found:
            chosen = g
            bridges += found
        prev, prev_lab, prev_n = enc, lab, n
    best = max(shares)
    if best < 0.02:
        raise SegmentationError(
            f"no closed region found: the outlines stay open even when closing gaps up to {ladder[-1]} px; "
            "close the outline in the sketch, pass a larger --gap, or select the garment with strokes / SAM"
        )
    k = ladder.index(chosen)
    if shares[k] < 0.02:  # nothing enclosed at 0 and no panel test passed: the smallest gap that encloses
        k = next(i for i, sh in enumerate(shares) if sh >= 0.02)
        chosen = ladder[k]
    return GapChoice(int(chosen), shares[k], [b for b in bridges if b[2] <= chosen], steps)


def _label_paper(free: np.ndarray, dist: np.ndarray, gap: int) -> tuple[np.ndarray, int]:
    """Regions of the paper with gaps up to ``gap`` px closed: ``(labels int32 (H, W) with 0 on ink, count)``."""
    free8 = free.astype(np.uint8)
    if gap <= 1:
        n, lab = cv2.connectedComponents(free8, connectivity=4, ltype=cv2.CV_32S)
        return lab, n - 1
    seeds = (dist > gap / 2.0).astype(np.uint8)
    n, markers = cv2.connectedComponents(seeds, connectivity=4, ltype=cv2.CV_32S)
    # Paper too narrow for the ball (thin closed areas) keeps a region of its own: seed it whole.
    n0, lab0 = cv2.connectedComponents(free8, connectivity=4, ltype=cv2.CV_32S)
    seeded = np.zeros(n0, bool)
    seeded[np.unique(lab0[seeds > 0])] = True
    seeded[0] = True
    unseeded = ~seeded[lab0]
    if unseeded.any():
        ids = np.cumsum(~seeded) * (~seeded)  # new ids for unseeded components
        markers = np.where(unseeded, ids[lab0] + (n - 1), markers).astype(np.int32)
        n = n + int((~seeded).sum())
    # Flood from the seeds in order of decreasing distance to ink: regions meet at a gap's narrowest point.
    cost = (65534 - np.minimum(dist * 64.0, 65534)).astype(np.uint16)
    cost[~free] = 65535
    lab = ndi.watershed_ift(cost, markers)
    lab = lab.astype(np.int32, copy=False)
    lab[~free] = 0
    return lab, n - 1


def _stroke_width(ink: np.ndarray, ink_dist: np.ndarray) -> float:
    """Typical line width (px): twice the median of the ink's distance map along its ridges."""
    if not ink.any():
        return 1.0
    mx = cv2.dilate(ink_dist, np.ones((3, 3), np.uint8))
    ridge = ink & (ink_dist >= mx - 1e-6) & (ink_dist > 0)
    vals = ink_dist[ridge] if ridge.any() else ink_dist[ink]
    return float(max(1.0, 2.0 * np.median(vals)))


def _relabel(lab: np.ndarray, keep_ids: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    lut = np.zeros(n + 1, np.int32)
    lut[keep_ids] = np.arange(1, len(keep_ids) + 1, dtype=np.int32)
    return lut[lab], len(keep_ids)


def _adjacency(lab: np.ndarray, n: int) -> np.ndarray:
    """``(n + 1, n + 1)`` shared boundary lengths between labels (4-neighbourhood)."""
    k = n + 1
    a = np.concatenate([lab[:, :-1].ravel(), lab[:-1, :].ravel()]).astype(np.int64)
    b = np.concatenate([lab[:, 1:].ravel(), lab[1:, :].ravel()]).astype(np.int64)
    diff = a != b
    codes = a[diff] * k + b[diff]
    adj = np.bincount(codes, minlength=k * k).reshape(k, k)
    return adj + adj.T


def _build(grey: np.ndarray, options: SegmentOptions, *, gap: Optional[int] = None,
           work=None) -> Partition:
    """The partition of a working copy: ``grey`` ``(h, w)`` (cleaned by :mod:`garmentstyle.sketchprep` when
    ``work`` is its :class:`~garmentstyle.sketchprep.WorkImage`, whose lines and colour fills are then used).

    Steps: the ink (and colour fills), the enclosed paper regions at the chosen gap, solid ink fills as regions of
    their own, the ink grown into its nearest region, then per-region statistics."""
    h, w = grey.shape
    _check_not_uniform(grey)
    ink, thr, colour_fills, notes = _ink_of(grey, options, work)
    ink, closed_edge = close_along_edge(ink)
    if closed_edge:
        notes.append(f"the drawing runs off the canvas edge in {closed_edge} place(s); closed along the edge")
    free = ~ink
    speck = _speck_px((h, w), options)
    dist = cv2.distanceTransform(free.astype(np.uint8), cv2.DIST_L2, 5)
    want_gap = options.gap if gap is None else gap
    g, lab, n, bg_ids, is_region, bridges = _paper_regions(free, dist, ink, speck, _max_gap((h, w), options),
                                                           want_gap, notes)
    if want_gap is None and g > 0 and not bridges:
        notes.append(f"no closed outline found; gap closing at {g} px")
    lab, bg_mask = _background(lab, free, dist, g, bg_ids)
    free_lab, n_free = _relabel(lab, np.flatnonzero(is_region), n)
    ink_dist = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 5)
    stroke = _stroke_width(ink, ink_dist)
    labels, kinds = _solid_fills(ink, ink_dist, stroke, free_lab, n_free, speck)
    labels = _grow_under_lines(labels, bg_mask)
    if colour_fills is not None and colour_fills.any():
        _mark_colour_regions(kinds, free_lab, n_free, colour_fills)
    # A few px bridged is routine on a pencil scan; the confidence falls as the gap nears the most searched.
    closure = 1.0 if g == 0 else max(0.3, 1.0 - g / (4.0 * _max_gap((h, w), options) + 1e-9))
    stats = _region_stats(labels, len(kinds), free_lab, n_free, dist, ink_dist)
    return Partition(
        labels=labels.astype(np.int32),
        free_labels=free_lab.astype(np.int32),
        ink=ink,
        grey=grey,
        kinds=kinds,
        area=stats.area,
        cx=stats.cx,
        cy=stats.cy,
        radius=stats.radius,
        border=stats.border,
        boxes=stats.boxes,
        adjacency=stats.adjacency,
        gap=g,
        threshold=thr,
        stroke=stroke,
        closure=closure,
        notes=notes,
        bridges=list(bridges),
    )


def _ink_of(grey: np.ndarray, options: SegmentOptions, work) -> tuple[np.ndarray, float, Optional[np.ndarray], list]:
    """``(ink, threshold, colour_fills, notes)``: the cleaned sketch's lines and the edges of its colour fills when
    sketch preparation ran (threshold NaN: it is local), else a global grey threshold (given or found)."""
    if work is not None and options.ink_threshold is None:
        from ..sketchprep.ink import fill_edges

        notes = list(check_drawing(work))
        ink = work.lines | (fill_edges(work.fills) & work.page)
        return ink, float("nan"), work.fills, notes
    thr = float(options.ink_threshold) if options.ink_threshold is not None else ink_threshold(grey)
    ink = grey < thr
    return ink, thr, None, list(check_line_art(grey, ink))


def _paper_regions(free: np.ndarray, dist: np.ndarray, ink: np.ndarray, speck: int, max_gap: int,
                   want_gap: Optional[int], notes: list) -> tuple:
    """``(gap, labels, n, background_ids, is_region, bridges)``: the paper's enclosed regions at the given gap (or
    the one :func:`choose_gap` picks), first with the strict background rule, then with areas cut by the canvas
    edge kept. Raises :class:`SegmentationError` when nothing is enclosed."""
    h, w = free.shape
    for strict in (True, False):
        try:
            if want_gap is None:
                choice = choose_gap(free, dist, ink, speck, max_gap, strict=strict)
                g, bridges = choice.gap, choice.bridges
            else:
                g, bridges = int(want_gap), []
        except SegmentationError:
            if strict:
                continue
            raise
        lab, n = _label_paper(free, dist, g)
        bg_ids = _background_ids(_border_contact(lab, n), strict=strict)
        area = np.bincount(lab.ravel(), minlength=n + 1)
        is_region = area >= speck
        is_region[0] = False
        is_region[bg_ids] = False
        if is_region.any():
            bg_ids = _page_frame(lab, area, is_region, bg_ids, (h, w), notes)
            if not strict:
                notes.append("the drawing runs off the canvas edge; areas cut by the edge were kept as regions")
            return g, lab, n, bg_ids, is_region, bridges
    if want_gap is not None:
        raise SegmentationError(
            f"no closed region found at a gap tolerance of {int(want_gap)} px: every area of the page is open "
            "to the background; close the outline, raise --gap (or leave it automatic), or use strokes / SAM"
        )
    raise SegmentationError(  # pragma: no cover - choose_gap raises first
        "no closed region found: every area of the page is open to the background; close the outline in the "
        "sketch, raise --gap, or select the garment with strokes / SAM"
    )


def _page_frame(lab: np.ndarray, area: np.ndarray, is_region: np.ndarray, bg_ids: np.ndarray,
                shape: tuple[int, int], notes: list) -> np.ndarray:
    """A frame drawn round the page: its inside is paper too, when other regions lie within it (``is_region`` is
    updated in place; the background ids are returned)."""
    h, w = shape
    boxes = ndi.find_objects(lab)
    for i in np.flatnonzero(is_region):
        sl = boxes[i - 1]
        if (
            sl is not None
            and (sl[0].stop - sl[0].start) >= 0.95 * h
            and (sl[1].stop - sl[1].start) >= 0.95 * w
            and area[i] >= 0.3 * h * w
            and is_region.sum() > 1
        ):
            is_region[i] = False
            bg_ids = np.append(bg_ids, i)
            notes.append("a frame drawn round the page was taken as the page's edge")
    return bg_ids


def _background(lab: np.ndarray, free: np.ndarray, dist: np.ndarray, g: int,
                bg_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, background mask)``. The flood can run from the background through a bridged gap along the
    paper hugging the inside of an outline (equal cost, a tie); paper the ball cannot reach from outside is not
    background."""
    bg_mask = np.isin(lab, bg_ids) if len(bg_ids) else np.zeros_like(free)
    if g > 1 and bg_mask.any():
        inside = _enclosed(free, dist, g, True)[0] & bg_mask
        if inside.any():
            lab = np.where(inside, 0, lab).astype(np.int32)
            bg_mask &= ~inside
    return lab, bg_mask


def _solid_fills(ink: np.ndarray, ink_dist: np.ndarray, stroke: float, free_lab: np.ndarray, n_free: int,
                 speck: int) -> tuple[np.ndarray, list]:
    """``(labels, kinds)``: the paper regions plus solid fills (ink much thicker than the typical stroke) as
    regions of their own, labelled after the paper ones."""
    t_fill = max(1.25 * stroke, stroke / 2.0 + 3.0)
    core = ink_dist > t_fill
    kinds = [KIND_ENCLOSED] * n_free
    labels = free_lab.copy()
    if core.any():
        near_core = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 5) <= t_fill + 1.0
        solid = ink & near_core
        nf, flab, fstats, _ = cv2.connectedComponentsWithStats(solid.astype(np.uint8), connectivity=8)
        big = np.flatnonzero(fstats[:, cv2.CC_STAT_AREA] >= max(speck, 4 * stroke * stroke))
        big = big[big > 0]
        if len(big):
            lut = np.zeros(nf, np.int32)
            lut[big] = np.arange(n_free + 1, n_free + 1 + len(big), dtype=np.int32)
            fl = lut[flab]
            labels = np.where(fl > 0, fl, labels)
            kinds += [KIND_FILL] * len(big)
    return labels, kinds


def _grow_under_lines(labels: np.ndarray, bg_mask: np.ndarray) -> np.ndarray:
    """Unlabelled ink (and paper specks) attached to a region joins its nearest region."""
    todo = (labels == 0) & ~bg_mask
    if not todo.any():
        return labels
    nc, comp = cv2.connectedComponents(todo.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    grown = cv2.dilate((labels > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    attached = np.zeros(nc, bool)
    attached[np.unique(comp[grown & todo])] = True
    attached[0] = False
    assign = attached[comp]
    if assign.any():
        _, idx = ndi.distance_transform_edt(labels == 0, return_indices=True)
        near = labels[idx[0], idx[1]]
        labels = np.where(assign, near, labels)
    return labels


def _mark_colour_regions(kinds: list, free_lab: np.ndarray, n_free: int, colour_fills: np.ndarray) -> None:
    """Regions mostly made of a flat colour fill are colour regions (a marker flat's parts); ``kinds`` in place."""
    in_fill = np.bincount(free_lab.ravel(), weights=(colour_fills > 0).ravel().astype(np.float64),
                          minlength=n_free + 1)
    tot = np.bincount(free_lab.ravel(), minlength=n_free + 1)
    for i in range(1, n_free + 1):
        if tot[i] and in_fill[i] > 0.5 * tot[i]:
            kinds[i - 1] = KIND_COLOUR


@dataclass(frozen=True)
class _RegionStats:
    """Per-region arrays, index 0 = region 1: ``area`` px, centre ``cx``/``cy``, inscribed ``radius`` px,
    ``border`` contact, ``boxes`` ``(x0, y0, x1, y1)``; and the region ``adjacency``."""

    area: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    radius: np.ndarray
    boxes: np.ndarray
    border: np.ndarray
    adjacency: np.ndarray


def _region_stats(labels: np.ndarray, n_all: int, free_lab: np.ndarray, n_free: int, dist: np.ndarray,
                  ink_dist: np.ndarray) -> _RegionStats:
    """The per-region statistics the croquis reading and the part picking use."""
    k = n_all + 1
    ys, xs = np.indices(labels.shape, sparse=True)
    flat = labels.ravel()
    cnt = np.bincount(flat, minlength=k).astype(np.float64)
    cx = np.bincount(flat, weights=np.broadcast_to(xs, labels.shape).ravel(), minlength=k) / np.maximum(cnt, 1)
    cy = np.bincount(flat, weights=np.broadcast_to(ys, labels.shape).ravel(), minlength=k) / np.maximum(cnt, 1)
    radius = np.zeros(k)
    both = np.where(free_lab > 0, dist, np.where(labels > n_free, ink_dist, 0.0))
    boxes = np.zeros((k, 4), np.int64)
    for i, sl in enumerate(ndi.find_objects(labels, max_label=n_all), start=1):
        if sl is not None:
            boxes[i] = (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop)
            radius[i] = float(both[sl][labels[sl] == i].max(initial=0.0))
    return _RegionStats(
        area=cnt[1:], cx=cx[1:], cy=cy[1:], radius=radius[1:], boxes=boxes[1:],
        border=_border_contact(labels, n_all)[1:], adjacency=_adjacency(labels, n_all),
    )


#: Partitions by (sketch content, size, gap options): the UI's clicks on one sketch partition it once. An
#: :class:`~garmentstyle.cache.LRUCache`: the web app's worker threads share it, and two asking for the same new
#: sketch wait for one partition.
_CACHE: LRUCache[Partition] = register("partitions", LRUCache(8))


def close_along_edge(ink: np.ndarray, *, share: float = 0.06) -> tuple[np.ndarray, int]:
    """A drawing cut by the canvas edge (straps cropped at the top): where two lines reach the same edge less
    than ``share`` of that edge apart, the edge between them is drawn as a line, so the area they bound is a
    region and not background. Returns ``(ink with those stretches, how many were closed)``."""
    out = ink.copy()
    n = 0
    h, w = ink.shape
    for side in range(4):
        idx = {0: (0, slice(None)), 1: (h - 1, slice(None)), 2: (slice(None), 0), 3: (slice(None), w - 1)}[side]
        band = {0: ink[:3].any(0), 1: ink[-3:].any(0), 2: ink[:, :3].any(1), 3: ink[:, -3:].any(1)}[side]
        hits = np.flatnonzero(band)
        if len(hits) < 2:
            continue
        runs = np.split(hits, np.flatnonzero(np.diff(hits) > 1) + 1)
        limit = share * len(band)
        line = out[idx]
        for a, b in zip(runs[:-1], runs[1:]):
            if 0 < b[0] - a[-1] <= limit:
                line[a[-1]: b[0] + 1] = True
                n += 1
        out[idx] = line
    return out, n


def _thin(mask: np.ndarray) -> bool:
    """Whether ``mask``'s pieces are line-like (a typical width under 1.5 % of the long side)."""
    from ..sketchprep.ink import stroke_width

    return bool(mask.any()) and stroke_width(mask) <= max(8.0, 0.015 * max(mask.shape))


def partition(sketch, options: SegmentOptions = SegmentOptions(), *, gap: Optional[int] = None) -> Partition:
    """Every region of a line drawing (see the module docstring). Cached per (image, options, gap): the UI's clicks
    on the same sketch cost nothing after the first.

    The sketch is prepared first (:mod:`garmentstyle.sketchprep`: paper flattened, ink binarised adaptively, colour
    fills found) on a working copy of at most :data:`WORK_SIDE` px; the partition is at that size (``scale``).

    Args:
        sketch: path / bytes / PIL / ``(H, W, 3)`` float array / ``(1, 3, H, W)`` tensor / ``(H, W)`` grey float32.
        options: :class:`SegmentOptions` (``gap``, ``max_gap``, ``ink_threshold``, ``min_speck`` matter here;
            an explicit ``ink_threshold`` skips the adaptive binarisation: absolute grey levels, as before).
        gap: overrides ``options.gap``.

    Returns:
        :class:`Partition` (do not modify its arrays: they are shared with the cache).

    Raises:
        SegmentationError: blank page, not line art, or no closed region.
        ImageReadError: unreadable input.
    """
    from ..sketchprep import read_input

    if isinstance(sketch, Partition):
        return sketch
    work_rgb, _, size = read_input(sketch, work_side=WORK_SIDE, full=False)
    raw = np.ascontiguousarray(work_rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32), dtype=np.float32)
    key = (
        image_key(raw),
        size,
        options.gap if gap is None else gap,
        options.max_gap,
        options.ink_threshold,
        options.min_speck,
    )
    return _CACHE.get(key, lambda: _partition(raw, work_rgb, size, options, gap))


def _partition(raw: np.ndarray, work_rgb: np.ndarray, size: tuple[int, int], options: SegmentOptions,
               gap: Optional[int]) -> Partition:
    """:func:`partition`'s work on the working copy (``raw`` its grey, ``work_rgb`` its colours), uncached."""
    from ..sketchprep import PrepOptions, prepare_loaded

    notes: list[str] = []
    _check_not_uniform(raw)
    t0 = ink_threshold(raw)
    dark = raw < t0
    edge = np.concatenate([dark[0], dark[-1], dark[:, 0], dark[:, -1]])
    if dark.mean() > 0.6 and edge.mean() > 0.9 and _thin(~dark):  # light lines on dark paper (a chalkboard)
        raw, work_rgb = 1.0 - raw, 1.0 - work_rgb
        notes.append("light lines on a dark background: the sketch was inverted")
    if options.ink_threshold is not None:
        part = _build(raw, options, gap=gap)
        rotation = 0.0
    else:
        prep = prepare_loaded(np.ascontiguousarray(work_rgb), None, size, PrepOptions(work_side=WORK_SIDE))
        part = _build(prep.work.grey, options, gap=gap, work=prep.work)
        notes += prep.notes
        rotation = prep.rotation
    part.scale = raw.shape[1] / float(size[1])
    part.size = size
    part.rotation = rotation
    part.notes = notes + part.notes
    if part.bridges:
        inv = 1.0 / part.scale
        where = ", ".join(f"({x * inv:.0f}, {y * inv:.0f})" for x, y, _ in part.bridges[:6])
        more = f" and {len(part.bridges) - 6} more" if len(part.bridges) > 6 else ""
        part.notes = [n for n in part.notes if "gap closing" not in n]
        part.notes.append(
            f"broken outline: gap closing at {part.gap} px bridged {len(part.bridges)} opening(s) near {where}{more} "
            "(x, y px); check those panels"
        )
    return part


def clear_cache() -> None:
    """Forget every cached partition (tests and benchmarks that time a cold partition)."""
    _CACHE.clear()
