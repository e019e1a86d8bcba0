"""Turn a garment mask and a part label map (numpy) into a :class:`~garmentstyle.segment.types.Segmentation`:
the checks no result may skip (never empty, never silently the full canvas), part tidying, soft edges, ranking."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch

from ..errors import SegmentationError
from . import refine as R
from .types import RegionInfo, Segmentation, SegmentOptions

#: A garment covering more than this share of the canvas gets a note and low confidence.
FULL_CANVAS = 0.97


def build(
    garment: np.ndarray,
    parts: Optional[np.ndarray],
    *,
    method: str,
    options: SegmentOptions,
    confidence: float,
    notes: list[str],
    layout: str,
    gap: int,
    score: Union[float, np.ndarray] = 1.0,
    kinds: Optional[np.ndarray] = None,
    partition: Optional[np.ndarray] = None,
    groups: Optional[np.ndarray] = None,
    premerged: bool = False,
) -> Segmentation:
    """Assemble the result.

    Args:
        garment: ``(H, W)`` bool, the chosen garment (already refined).
        parts: ``(H, W)`` int, 0 = none, any positive ids: the candidate parts (restricted to the garment here).
        score: a scalar, or an ``(H, W)`` float map whose mean over a part is its score.
        kinds: optional ``(H, W)`` uint8 map, 1 where a pixel came from a solid-ink fill region.
        partition: ``(H, W)`` int, every region of the drawing (kept on the result for clicks).
        premerged: ``parts`` already cover the garment with consecutive ids, small parts merged (done on the
            working copy for large sketches, where the full-size fill and merge cost GBs): used as they are.

    Raises:
        SegmentationError: the garment is empty.
    """
    h, w = garment.shape
    notes = list(dict.fromkeys(notes))  # de-duplicate, keep order
    g_area = int(garment.sum())
    if g_area == 0:
        raise SegmentationError(
            f"segmentation ({method}) found no garment pixels in the {w}×{h} sketch; select the garment with "
            "strokes, or check that the sketch is dark line art on light paper"
        )
    share = g_area / float(h * w)
    if share >= FULL_CANVAS:
        notes.append(
            f"the garment covers {share:.0%} of the canvas (nearly all of it): is the drawing framed, cropped "
            "tight, or not line art? Check the mask"
        )
        confidence = min(confidence, 0.2)
    if parts is None:
        lab = garment.astype(np.int64)
    elif premerged:
        lab = np.where(garment, parts, 0).astype(np.int64)
    else:
        lab = np.where(garment, parts, 0).astype(np.int64)
        lab = R.nearest_fill(lab, garment)
        if not (lab > 0).any():
            lab = garment.astype(np.int64)
    if not premerged or not (lab > 0).any():
        lab = R.merge_small_parts(lab, min_area=float(options.min_part) * g_area, max_parts=options.max_parts)
    n = int(lab.max())

    if options.soft_edge > 0:
        soft = R.soft_edge(garment, float(options.soft_edge))
        lab_soft = R.nearest_fill(lab, soft > 0)
        garment_t = torch.from_numpy(soft)
    else:
        soft = None
        lab_soft = lab
        garment_t = torch.from_numpy(garment.astype(np.float32))

    regions = _regions(lab, lab_soft, soft, n, method=method, score=score, kinds=kinds)
    return Segmentation(
        garment=garment_t,
        labels=torch.from_numpy(lab.astype(np.int64, copy=False)),
        regions=regions,
        method=method,
        confidence=float(np.clip(confidence, 0.0, 1.0)),
        notes=notes,
        partition=None if partition is None else torch.from_numpy(partition.astype(np.int64, copy=False)),
        layout=layout,
        gap=int(gap),
        groups=None if groups is None else torch.from_numpy(np.asarray(groups, np.int64)),
    )


def _regions(lab: np.ndarray, lab_soft: np.ndarray, soft: Optional[np.ndarray], n: int, *, method: str,
             score: Union[float, np.ndarray], kinds: Optional[np.ndarray]) -> list[RegionInfo]:
    """One :class:`RegionInfo` per part label 1..n of ``lab``: its (soft) mask, area, box, mean score, kind."""
    import scipy.ndimage as ndi

    smap = score if isinstance(score, np.ndarray) else None
    regions: list[RegionInfo] = []
    flat = lab.ravel()
    counts = np.bincount(flat, minlength=n + 1)
    sums = _label_sums(flat, smap.ravel(), n) if smap is not None else None
    fill_counts = _label_sums(flat, kinds.ravel(), n) if kinds is not None else None
    slices = ndi.find_objects(lab.astype(np.int32), max_label=n)
    for k in range(1, n + 1):
        sl = slices[k - 1]
        if sl is None:  # pragma: no cover - merge_small_parts keeps labels consecutive
            continue
        hard = lab_soft == k
        m = hard.astype(np.float32) if soft is None else np.where(hard, soft, 0.0).astype(np.float32)
        sc = float(sums[k] / max(counts[k], 1)) if sums is not None else float(score)
        kind = "enclosed"
        if method.startswith("sam"):
            kind = "sam"
        elif fill_counts is not None and fill_counts[k] > 0.5 * counts[k]:
            kind = "fill"
        regions.append(
            RegionInfo(
                name=f"part{k:02d}",
                label=k,
                mask=torch.from_numpy(m),
                area=int(counts[k]),
                box=(int(sl[1].start), int(sl[0].start), int(sl[1].stop), int(sl[0].stop)),
                method=method,
                score=float(np.clip(sc, 0.0, 1.0)),
                kind=kind,
            )
        )
    return regions


def _label_sums(flat: np.ndarray, weights: np.ndarray, n: int, chunk: int = 1 << 22) -> np.ndarray:
    """``(n + 1,)`` float64 sums of ``weights`` per label, in chunks (a float64 copy of a 48 MP map is 384 MB)."""
    out = np.zeros(n + 1, np.float64)
    for i in range(0, flat.size, chunk):
        out += np.bincount(flat[i:i + chunk], weights=weights[i:i + chunk].astype(np.float64), minlength=n + 1)
    return out


def refine_garment(mask: np.ndarray, *, options: SegmentOptions, speck: int, ink: Optional[np.ndarray] = None,
                   grow: bool = False) -> np.ndarray:
    """The refinement every method shares: (grow under lines), fill holes, drop specks, smooth jaggies.

    Args:
        mask: ``(H, W)`` bool.
        speck: pieces smaller than this (px), and than 5 % of the largest piece, are dropped.
        ink: ``(H, W)`` bool line art, for ``grow``.
        grow: extend the mask under the lines it touches (SAM masks stop at lines; classical ones already include
            them).
    """
    m = mask.copy()
    if grow and ink is not None and options.grow_under_lines:
        m = R.grow_under_lines(m, ink)
    if options.fill_holes:
        m = R.fill_holes(m)
    else:
        m = R.fill_small_holes(m, speck)
    m = R.drop_specks(m, speck, relative=0.05)
    m = R.smooth(m, options.smooth)
    if options.fill_holes:
        m = R.fill_holes(m)
    return m
