"""The classical method end to end: partition the line art, pick (auto) or select (strokes), refine, assemble."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..errors import SegmentationError
from . import lineart
from .auto import pick
from .result import build, refine_garment
from .strokes import fit_to, stroke_regions
from .types import SegmentOptions, Strokes

METHOD = "classical"


def _speck(shape: tuple[int, int], options: SegmentOptions) -> int:
    return lineart._speck_px(shape, options)


def select_by_strokes(
    grey: np.ndarray, part: lineart.Partition, strokes: Strokes, options: SegmentOptions
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
    strokes = fit_to(strokes, part.shape)
    notes += strokes.notes
    pos, neg, facts = stroke_regions(part.labels, part.n, strokes)
    has_pos = bool(strokes.positive.any() or any(p[2] for p in strokes.points) or strokes.boxes)
    if has_pos and not pos and options.gap is None:
        max_gap = lineart._max_gap(part.shape, options)
        for g in [g for g in lineart.GAP_LADDER if part.gap < g <= max(max_gap, 2 * part.gap)]:
            try:
                p2 = lineart.partition(grey, options, gap=g)
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
    """Classical segmentation of ``sketch`` (see :func:`garmentstyle.segment.segment`)."""
    progress("read")
    grey = lineart.to_grey(sketch)
    progress("regions")
    part = lineart.partition(grey, options)
    notes = list(part.notes)
    progress("pick")
    if strokes is not None:
        strokes = fit_to(strokes, grey.shape)  # wrong size / everything outside: an error even when empty
    if strokes is not None and not strokes.is_empty():
        part, chosen, more, layout = select_by_strokes(grey, part, strokes, options)
        notes = [n for n in part.notes] + more
        confidence = part.closure
        scores = np.zeros(part.n + 1)
        scores[np.asarray(chosen)] = 1.0
    else:
        pk = pick(part, layout=options.layout)
        chosen, layout, confidence = pk.chosen, pk.layout, pk.confidence
        notes += pk.notes
        scores = np.concatenate([[0.0], pk.scores])
    progress("refine")
    speck = _speck(part.shape, options)
    garment = part.mask(chosen)
    if not options.grow_under_lines:
        fills = part.mask([i + 1 for i, k in enumerate(part.kinds) if k == lineart.KIND_FILL and i + 1 in chosen])
        garment &= ~(part.ink & ~fills)
    garment = refine_garment(garment, options=options, speck=speck)
    sel = np.zeros(part.n + 1, bool)
    sel[np.asarray(chosen)] = True
    parts = np.where(sel[part.labels], part.labels, 0)
    kinds = np.array([0] + [1 if k == lineart.KIND_FILL else 0 for k in part.kinds], np.uint8)[part.labels]
    return build(
        garment,
        parts,
        method=METHOD,
        options=options,
        confidence=confidence,
        notes=notes,
        layout=layout,
        gap=part.gap,
        score=scores[part.labels].astype(np.float32),
        kinds=kinds,
        partition=part.labels,
    )
