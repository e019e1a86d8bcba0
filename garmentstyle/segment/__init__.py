"""Segmentation: find the garment and its parts in a sketch, automatically or from the designer's strokes and clicks.

    from garmentstyle.segment import segment, SegmentOptions, load_strokes
    seg = segment("sketch.png")                                   # auto garment, classical or SAM
    seg = segment("sketch.png", strokes=load_strokes("STROKES.png", size=(h, w)))
    seg.garment, seg.labels, seg.regions, seg.method, seg.confidence, seg.notes
    seg.save("masks/")                                            # garment.png, part01.png, …, regions.json

Methods (``method=``): ``"classical"`` (line art → enclosed regions; no weights, always available; see
:mod:`.lineart`), ``"sam"`` (Segment Anything with point / box prompts; needs a checkpoint, see :mod:`.sam`),
``"auto"`` (SAM when ``weights.find(options.sam_model)`` finds its checkpoint, else classical; ``seg.method`` says
which ran). For the UI: :class:`SamSegmenter` (embedding cached per sketch, cheap ``predict`` per click) and
:func:`region_at` (the enclosed region under a click, classical).
"""
from __future__ import annotations

import time
from typing import Optional, Union

import numpy as np
import torch

from ..errors import InputError, OptionsError, SegmentationError
from .sam import SamPrediction, SamSegmenter, build_sam, get_segmenter
from .strokes import load_strokes
from .types import (
    LAYOUTS,
    METHODS,
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    SAM_MODELS,
    SCOPES,
    ProgressCallback,
    RegionInfo,
    Segmentation,
    SegmentOptions,
    SegmentProgress,
    Strokes,
)

__all__ = [
    "segment",
    "region_at",
    "refine_mask",
    "resolve_method",
    "SegmentOptions",
    "Segmentation",
    "RegionInfo",
    "Strokes",
    "load_strokes",
    "SamSegmenter",
    "SamPrediction",
    "build_sam",
    "SegmentProgress",
    "METHODS",
    "LAYOUTS",
    "SAM_MODELS",
    "SCOPES",
    "POSITIVE_COLOUR",
    "NEGATIVE_COLOUR",
]

#: Progress stages per method, in order.
STAGES: dict[str, tuple[str, ...]] = {
    "classical": ("read", "regions", "pick", "refine"),
    "sam": ("read", "sam-embed", "sam-predict", "refine"),
}


def resolve_method(method: str, options: SegmentOptions = SegmentOptions()) -> str:
    """``"classical"`` or ``"sam"``: what ``method`` means on this machine (``auto`` looks for the SAM checkpoint).

    Raises:
        OptionsError: unknown method.
    """
    if method not in METHODS:
        raise OptionsError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if method != "auto":
        return method
    from .. import weights

    return "sam" if weights.find(options.sam_model) is not None else "classical"


def segment(
    sketch,
    *,
    method: str = "auto",
    strokes: Optional[Strokes] = None,
    options: SegmentOptions = SegmentOptions(),
    on_progress: Optional[ProgressCallback] = None,
    sam: Optional[SamSegmenter] = None,
) -> Segmentation:
    """Find the garment (and its parts) in a sketch.

    Args:
        sketch: path / bytes / PIL image / ``(H, W, 3)`` float array in [0, 1] / ``(1, 3, H, W)`` tensor.
        method: one of :data:`METHODS`.
        strokes: positive / negative strokes, clicks and boxes (``(H, W)`` of the sketch); None: the auto garment.
        options: :class:`SegmentOptions`.
        on_progress: called with a :class:`SegmentProgress` per stage; may raise
            :class:`~garmentstyle.errors.Cancelled`.
        sam: a :class:`SamSegmenter` to use for ``method="sam"`` (the UI's, or a test's); default: a shared one for
            ``options.sam_model`` that loads its checkpoint once.

    Returns:
        :class:`Segmentation`: ``garment`` ``(H, W)`` float32, ``labels`` ``(H, W)`` int64 (0 outside, 1..R parts,
        ranked by area), ``regions``, ``method`` (what ran), ``confidence``, ``notes``.

    Raises:
        OptionsError: unknown method / bad options.
        ImageReadError: unreadable sketch.
        MaskError, InputError: strokes of the wrong size, clicks all outside the sketch.
        SegmentationError: blank page, not line art (classical), no closed region, strokes only on the background.
        WeightsNotFoundError: ``method="sam"`` without the checkpoint (the message has the download command).
    """
    if not isinstance(options, SegmentOptions):
        raise OptionsError(f"options: expected SegmentOptions, got {type(options).__name__}")
    if strokes is not None and not isinstance(strokes, Strokes):
        raise InputError(f"strokes: expected Strokes (see load_strokes), got {type(strokes).__name__}")
    t0 = time.perf_counter()
    done: list[str] = []
    which = "sam" if sam is not None and method in ("auto", "sam") else resolve_method(method, options)

    def progress(stage: str) -> None:
        done.append(stage)
        if on_progress is not None:
            total = max(len(STAGES[which]), len(done))
            on_progress(SegmentProgress(stage, len(done), total, time.perf_counter() - t0))

    if which == "sam":
        seg_obj = sam if sam is not None else get_segmenter(options.sam_model, device=options.device)
        return seg_obj.segment(sketch, strokes=strokes, options=options, progress=progress)
    from . import classical

    return classical.run(sketch, strokes=strokes, options=options, progress=progress)


def region_at(
    seg_or_sketch: Union[Segmentation, object],
    x: float,
    y: float,
    *,
    gap: Optional[int] = None,
    options: SegmentOptions = SegmentOptions(),
    scope: str = "part",
) -> RegionInfo:
    """What one click selects (the UI's classical click mode): the garment part under it, or one panel.

    Args:
        seg_or_sketch: a :class:`Segmentation` from the classical method (its ``partition`` and ``groups`` are
            used; cheap), or a sketch (partitioned here; cached, so repeated clicks on one sketch cost milliseconds).
        x, y: the click, pixels of the sketch.
        gap: gap tolerance in px (sketch only; None: ``options.gap`` / automatic).
        scope: one of :data:`SCOPES`: ``"part"`` (default): the garment part under the click: a skirt whose panels
            are split by interior seams comes whole (see :mod:`.parts`); ``"panel"``: only the enclosed region
            under the click ("this panel only": the UI's second click / modifier).

    Returns:
        :class:`RegionInfo` named ``"part"`` (several panels) or ``"region"`` (one): ``mask`` ``(H, W)`` float
        {0, 1} of the sketch's size (its lines included), ``label`` the clicked region's id in the partition,
        ``score`` 1, ``kind`` the clicked region's kind (``"enclosed"``, ``"fill"``, ``"colour"``).

    Raises:
        InputError: the click is outside the image.
        OptionsError: ``gap`` given with a Segmentation (re-segment the sketch instead), unknown ``scope``.
        SegmentationError: the click is on the background, or the segmentation has no partition (SAM-only).
    """
    from . import lineart
    from .types import SCOPES

    if scope not in SCOPES:
        raise OptionsError(f"scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
    kinds: Optional[list[str]] = None
    if isinstance(seg_or_sketch, Segmentation):
        if gap is not None and gap != seg_or_sketch.gap:
            raise OptionsError(
                f"region_at: this segmentation was made at a gap of {seg_or_sketch.gap} px; pass the sketch to use "
                f"gap={gap}"
            )
        if seg_or_sketch.partition is None:
            raise SegmentationError("this segmentation has no line-art regions (SAM only); pass the sketch instead")
        labels = seg_or_sketch.partition.numpy()
        groups = None if seg_or_sketch.groups is None else seg_or_sketch.groups.numpy()
        full = labels.shape
        s = 1.0
    else:
        part = lineart.partition(seg_or_sketch, options, gap=gap)
        labels, groups, full, s = part.labels, part.click_part_groups(options.layout), part.full_size, part.scale
        kinds = part.kinds
    H, W = full
    if not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < W and 0 <= y < H):
        raise InputError(f"the click ({x}, {y}) lies outside the {W}×{H} sketch")
    h, w = labels.shape
    lab = int(labels[min(h - 1, int(y * s)), min(w - 1, int(x * s))])
    if lab == 0:
        raise SegmentationError(
            f"({int(x)}, {int(y)}) is on the background, outside every closed region; click inside the garment, or "
            "raise the gap tolerance if its outline is open"
        )
    ids = [lab]
    if scope == "part" and groups is not None and lab < len(groups):
        ids = [int(i) for i in np.flatnonzero(groups == groups[lab]) if i > 0]
    m = np.isin(labels, ids)
    # On a figure a garment piece stops where the garment does (its outline is no one's: figure.outline_off).
    if isinstance(seg_or_sketch, Segmentation):
        g = seg_or_sketch.garment.numpy() > 0.5 if seg_or_sketch.layout == "figure" else None
    else:
        g = part.click_garment
    if g is not None and g.shape == m.shape and (m & g).sum() >= 0.5 * m.sum():
        m &= g
    if m.shape != (H, W):
        import cv2

        m = cv2.resize(m.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR) > 0.5
    ys, xs = np.nonzero(m)
    return RegionInfo(
        name="part" if len(ids) > 1 else "region",
        label=lab,
        mask=torch.from_numpy(m.astype(np.float32)),
        area=int(m.sum()),
        box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
        method="classical",
        score=1.0,
        kind=kinds[lab - 1] if kinds is not None and lab <= len(kinds) else "enclosed",
    )


def refine_mask(
    mask,
    sketch=None,
    *,
    options: SegmentOptions = SegmentOptions(),
) -> torch.Tensor:
    """Tidy a mask from anywhere (a SAM click, a hand-painted mask): grow it under the sketch's lines (when a sketch
    is given), fill holes, drop specks, smooth jaggies, soften the edge — the refinement ``segment`` applies.

    Args:
        mask: ``(H, W)`` bool / float (> 0.5 inside) tensor or array.
        sketch: the sketch ``(H, W)`` of the mask, for growing under its lines; None skips that step.
        options: ``fill_holes``, ``min_speck``, ``smooth``, ``grow_under_lines``, ``soft_edge`` matter.

    Returns:
        ``(H, W)`` float32: {0, 1}, or feathered when ``options.soft_edge`` > 0.

    Raises:
        MaskError: the mask is empty, not 2-D, or not the sketch's size.
    """
    from ..errors import MaskError
    from . import lineart
    from . import refine as R
    from .result import refine_garment

    m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if m.ndim != 2:
        raise MaskError(f"expected an (H, W) mask, got shape {m.shape}")
    m = m > 0.5 if m.dtype != bool else m
    if not m.any():
        raise MaskError("the mask is empty: nothing to refine")
    ink = None
    if sketch is not None:
        grey = lineart.to_grey(sketch)
        if grey.shape != m.shape:
            raise MaskError(
                f"the mask is {m.shape[1]}×{m.shape[0]} px but the sketch is {grey.shape[1]}×{grey.shape[0]} px"
            )
        ink = grey < (options.ink_threshold or lineart.ink_threshold(grey))
    out = refine_garment(m, options=options, speck=lineart._speck_px(m.shape, options), ink=ink, grow=ink is not None)
    if options.soft_edge > 0:
        return torch.from_numpy(R.soft_edge(out, float(options.soft_edge)))
    return torch.from_numpy(out.astype(np.float32))
