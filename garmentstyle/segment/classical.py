"""The classical method end to end: partition the line art, pick (auto) or select (strokes), refine, assemble."""
from __future__ import annotations

from typing import Callable, Optional

import cv2
import numpy as np

from ..errors import SegmentationError
from . import lineart
from .auto import pick
from .figure import garment_pieces, outline_off
from .result import build, refine_garment
from .strokes import fit_to, stroke_regions
from .types import SegmentOptions, Strokes

METHOD = "classical"


def _speck(shape: tuple[int, int], options: SegmentOptions) -> int:
    return lineart._speck_px(shape, options)


def to_work(strokes: Strokes, part: lineart.Partition) -> Strokes:
    """Strokes at the input's size → the partition's (working) size: masks resized (any stroke pixel counts),
    clicks and boxes scaled."""
    if part.scale == 1.0 and strokes.size == part.shape:
        return strokes
    h, w = part.shape
    s = part.scale

    def rs(m) -> np.ndarray:
        a = m.numpy().astype(np.uint8) * 255
        return cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA) > 0

    pts = [(min(w - 1.0, x * s), min(h - 1.0, y * s), p) for x, y, p in strokes.points]
    bxs = [(x0 * s, y0 * s, x1 * s, y1 * s) for x0, y0, x1, y1 in strokes.boxes]
    return Strokes(rs(strokes.positive), rs(strokes.negative), points=pts, boxes=bxs, notes=list(strokes.notes))


def select_by_strokes(
    sketch, part: lineart.Partition, strokes: Strokes, options: SegmentOptions
) -> tuple[lineart.Partition, list[int], list[str], str]:
    """The regions the strokes ask for: ``(partition used, chosen labels, notes, layout)``.

    A positive stroke selects every region it touches (a stroke on a line selects the region that line was given
    to); a negative stroke removes what it touches (negative wins where both touch). Without positive strokes, or
    with ``options.add_to_auto``, the auto pick is the starting point. When the gap tolerance is automatic and a
    positive stroke lies in an area open to the background, larger gaps are tried until it is enclosed.

    Raises:
        SegmentationError: positive strokes only on the background, or nothing left selected.
    """
    notes: list[str] = []
    strokes = to_work(fit_to(strokes, part.full_size), part)
    notes += strokes.notes
    pos, neg, facts = stroke_regions(part.labels, part.n, strokes)
    has_pos = bool(strokes.positive.any() or any(p[2] for p in strokes.points) or strokes.boxes)
    if has_pos and not pos and options.gap is None:
        max_gap = lineart._max_gap(part.shape, options)
        # The designer asked for this area: try gaps well beyond the automatic search's.
        for g in [g for g in lineart.GAP_LADDER if part.gap < g <= max(3 * max_gap, 2 * part.gap)]:
            try:
                p2 = lineart.partition(sketch, options, gap=g)
            except SegmentationError:
                continue
            pos2, neg2, _ = stroke_regions(p2.labels, p2.n, strokes)
            if pos2:
                part, pos, neg = p2, pos2, neg2
                notes = [n for n in notes if "gap closing" not in n]
                notes.append(f"the positive stroke was in an area open to the background; gap closing at {g} px")
                break
    if has_pos and not pos:
        raise SegmentationError(
            "the positive strokes / clicks lie on the background only (outside every closed region); paint them "
            "inside the garment, raise --gap if its outline is open, or use --method sam"
        )
    if has_pos and facts.get("pos_touches_background"):
        notes.append("part of a positive stroke lies on the background; that part was ignored")
    pos_mask = strokes.positive.numpy()
    if pos_mask.any() and float(part.ink[pos_mask].mean()) >= 0.5:
        notes.append("a positive stroke lies on the line art; it selected the region(s) nearest to it")
    layout = "flat"
    base: set[int] = set()
    if not has_pos or options.add_to_auto:
        pk = pick(part, layout=options.layout)
        base = set(pk.chosen)
        layout = pk.layout
        notes += [n for n in pk.notes if n.startswith("the garment found")]
    both = pos & neg
    if both:
        notes.append(f"{len(both)} region(s) touched by both positive and negative strokes were removed")
    chosen = sorted((base | pos) - neg)
    if not chosen:
        raise SegmentationError(
            "the strokes leave nothing selected (the negative strokes removed every region); "
            "paint a positive (green) stroke inside the garment"
        )
    return part, chosen, notes, layout


def run(
    sketch,
    *,
    strokes: Optional[Strokes] = None,
    options: SegmentOptions = SegmentOptions(),
    progress: Callable[[str], None] = lambda stage: None,
):
    """Classical segmentation of ``sketch`` (see :func:`garmentstyle.segment.segment`).

    The partition and the pick run on the working copy (≤ :data:`~.lineart.WORK_SIDE` px); the garment is refined
    there, then brought to the input's size (smoothly, so its edge is not blocky) with its parts and partition.
    """
    progress("read")
    progress("regions")
    part = lineart.partition(sketch, options)
    notes = list(part.notes)
    progress("pick")
    if strokes is not None:
        strokes = fit_to(strokes, part.full_size)  # wrong size / everything outside: an error even when empty
    if strokes is not None and not strokes.is_empty():
        part, chosen, more, layout = select_by_strokes(sketch, part, strokes, options)
        notes = [n for n in part.notes] + more
        confidence = part.closure
        scores = np.zeros(part.n + 1)
        scores[np.asarray(chosen)] = 1.0
    else:
        pk = pick(part, layout=options.layout)
        chosen, layout, confidence = pk.chosen, pk.layout, pk.confidence
        notes += pk.notes
        scores = np.concatenate([[0.0], pk.scores])
        if layout == "figure":
            confidence, more = _figure_confidence(sketch, part, pk, options)
            notes += more
    progress("refine")
    garment = _garment(part, chosen, layout, options)
    sel = np.zeros(part.n + 1, bool)
    sel[np.asarray(chosen)] = True
    parts = np.where(sel[part.labels], part.labels, 0)
    kinds = np.array([0] + [1 if k == lineart.KIND_FILL else 0 for k in part.kinds], np.uint8)[part.labels]
    score_map = scores[part.labels].astype(np.float32)
    labels = part.labels
    premerged = part.full_size != part.shape
    if premerged:
        # Parts filled and merged on the working copy: at 48 MP the full-size nearest fill and merge cost GBs.
        from . import refine as R

        parts = R.merge_small_parts(R.nearest_fill(np.where(garment, parts, 0), garment),
                                    min_area=float(options.min_part) * float(garment.sum()), max_parts=options.max_parts)
        garment, parts, score_map, kinds, labels = upscale(part.full_size, garment, parts, score_map, kinds, labels)
    return build(
        garment,
        parts,
        method=METHOD,
        options=options,
        confidence=confidence,
        notes=notes,
        layout=layout,
        gap=part.gap,
        score=score_map,
        kinds=kinds,
        partition=labels,
        groups=garment_pieces(part, chosen, part.part_groups()) if layout == "figure" else part.part_groups(),
        premerged=premerged,
    )


def _left_out(part: lineart.Partition, chosen) -> np.ndarray:
    """The paper of the regions a figure's reading left out: filling the garment's holes must not give them back
    (a badge, a buckle inside the garment)."""
    return (part.free_labels > 0) & ~np.isin(part.free_labels, np.asarray(list(chosen), np.int64))


def _garment(part: lineart.Partition, chosen, layout: str, options: SegmentOptions) -> np.ndarray:
    """The garment mask (working px, bool) of the ``chosen`` regions: on a figure without the outline it shares
    with the body or the paper (that line is no one's: :func:`.figure.outline_off`), without the lines when
    ``grow_under_lines`` is off, refined, and on a figure without what the reading left out."""
    garment = outline_off(part, chosen) if layout == "figure" else part.mask(chosen)
    if not options.grow_under_lines:
        fills = part.mask([i + 1 for i, k in enumerate(part.kinds) if k == lineart.KIND_FILL and i + 1 in chosen])
        garment &= ~(part.ink & ~fills)
    garment = refine_garment(garment, options=options, speck=_speck(part.shape, options))
    if layout == "figure":
        garment &= ~_left_out(part, chosen)
    return garment


def figure_garment(part: lineart.Partition, chosen, options: SegmentOptions) -> np.ndarray:
    """A figure's garment exactly as :func:`run` makes it (working px, bool). A click's piece is cut to it."""
    return _garment(part, chosen, "figure", options)


def _figure_confidence(sketch, part: lineart.Partition, pk, options: SegmentOptions) -> tuple[float, list[str]]:
    """:func:`.auto.figure_confidence` with the pick re-made at the next gap tolerance (its stability)."""
    from .auto import figure_confidence

    alt = None
    if options.gap is None:
        nxt = [g for g in lineart.GAP_LADDER if g > part.gap][:1]
        if nxt:
            try:
                p2 = lineart.partition(sketch, options, gap=nxt[0])
                if p2.shape == part.shape:
                    alt = p2.mask(pick(p2, layout="figure").chosen)
            except SegmentationError:
                alt = None
    return figure_confidence(part, pk, alt)


def upscale(size: tuple[int, int], garment: np.ndarray, parts: np.ndarray, score: np.ndarray, kinds: np.ndarray,
            labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Working-copy results → the input's ``size`` ``(H, W)``: the garment by a smooth (bilinear) resize of its
    mask, the label maps nearest-neighbour (restricted to the garment).

    The parts are filled from the nearest part on the working copy, over the garment grown by two working pixels
    (everything the smooth resize can add), so the full-size map needs no distance transform: at 48 MP that
    transform alone held ~1.5 GB. A full-size fill remains only as a fallback for pixels still unlabelled."""
    from . import refine as R

    H, W = size
    g = cv2.resize(garment.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR) > 0.5

    def near(a: np.ndarray) -> np.ndarray:
        return cv2.resize(a, (W, H), interpolation=cv2.INTER_NEAREST)

    grown = cv2.dilate(garment.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    p = near(R.nearest_fill(parts.astype(np.int32), grown))
    p[~g] = 0
    if (g & (p == 0)).any():
        p = R.nearest_fill(p, g)
    # The partition straight to int64 (what the result holds) by index: no int32 copy on the way at 48 MP.
    rows = np.minimum((np.arange(H) + 0.5) * labels.shape[0] / H, labels.shape[0] - 1).astype(np.intp)
    cols = np.minimum((np.arange(W) + 0.5) * labels.shape[1] / W, labels.shape[1] - 1).astype(np.intp)
    full = np.take(np.take(labels.astype(np.int64, copy=False), rows, 0), cols, 1)
    return g, p, near(score.astype(np.float32)), near(kinds.astype(np.uint8)), full
