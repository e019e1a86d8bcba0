"""The designer's strokes and clicks: reading STROKES.png, checking them against the sketch, turning them into a
region selection (classical) or point / box prompts (SAM).

STROKES.png colours (see :data:`~garmentstyle.segment.types.POSITIVE_COLOUR`):

* **green** (``#00ff00``, or any clearly green colour: G ≥ 50 % and ≥ 25 % above R and B): *positive*, select the
  region(s) the stroke touches;
* **red** (``#ff0000``, R ≥ 50 % and ≥ 25 % above G and B): *negative*, remove the region(s) it touches;
* anything else (white, transparent, a copy of the sketch underneath, grey pencil) is ignored, so the designer may
  paint on a copy of the sketch or on a transparent layer.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

from ..errors import InputError, MaskError
from .types import Strokes

#: Aspect ratios within this relative tolerance count as "the same picture at another size" (strokes are rescaled).
ASPECT_TOLERANCE = 0.02


def classify_colours(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W, 3)`` float [0, 1] → (positive, negative) ``(H, W)`` bool masks: green and red pixels."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    pos = (g >= 0.5) & (g - np.maximum(r, b) >= 0.25)
    neg = (r >= 0.5) & (r - np.maximum(g, b) >= 0.25)
    return pos, neg


def load_strokes(src, size: Optional[Sequence[int]] = None) -> Strokes:
    """Read a STROKES.png (green = positive, red = negative, anything else ignored; see the module docstring).

    Args:
        src: path / bytes / PIL image / ``(H, W, 3|4)`` array.
        size: the sketch's ``(H, W)``. A strokes image of another size but the same aspect ratio (a canvas that was
            scaled) is rescaled to it, with a note; another aspect ratio is an error.

    Returns:
        :class:`Strokes` ``(H, W)`` of ``size`` (or of the image when ``size`` is None).

    Raises:
        ImageReadError: unreadable file.
        MaskError: a different aspect ratio from the sketch's.
        InputError: no green or red stroke in the image.
    """
    from ..io import read_rgb

    rgb = read_rgb(src)
    name = str(src) if isinstance(src, (str, os.PathLike)) else "the strokes image"
    h0, w0 = rgb.shape[:2]
    pos, neg = classify_colours(rgb)
    notes: list[str] = []
    if size is not None:
        h, w = int(size[0]), int(size[1])
        if (h0, w0) != (h, w):
            a0, a1 = w0 / h0, w / h
            if abs(a0 - a1) / a1 > ASPECT_TOLERANCE:
                raise MaskError(
                    f"{name}: the strokes image is {w0}×{h0} px but the sketch is {w}×{h} px (another shape); "
                    "draw the strokes on a copy of the sketch, at its size"
                )
            pos = cv2.resize(pos.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            neg = cv2.resize(neg.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            notes.append(f"the strokes image is {w0}×{h0} px; rescaled to the sketch's {w}×{h} px")
    if not pos.any() and not neg.any():
        raise InputError(
            f"{name}: no strokes found; paint positive strokes in green (#00ff00) and negative ones in red (#ff0000)"
        )
    both = pos & neg
    if both.any():  # cannot happen with the colour rules, kept for hand-made masks
        pos = pos & ~both
    return Strokes(torch.from_numpy(pos), torch.from_numpy(neg), notes=notes)


def fit_to(strokes: Strokes, size: Sequence[int]) -> Strokes:
    """Check strokes against a sketch of ``size`` ``(H, W)``: drop clicks outside it, clip boxes, with notes.

    Raises:
        MaskError: painted strokes of another size.
        InputError: every stroke, click and box lies outside the sketch.
    """
    h, w = int(size[0]), int(size[1])
    if strokes.size != (h, w):
        raise MaskError(
            f"the strokes are {strokes.size[1]}×{strokes.size[0]} px but the sketch is {w}×{h} px; "
            "strokes must be drawn on the sketch, at its size"
        )
    notes = list(strokes.notes)
    points = []
    dropped = 0
    for x, y, positive in strokes.points:
        if not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < w and 0 <= y < h):
            dropped += 1
            continue
        points.append((x, y, positive))
    if dropped:
        notes.append(f"{dropped} click(s) outside the {w}×{h} sketch were ignored")
    boxes = []
    bdropped = 0
    for x0, y0, x1, y1 in strokes.boxes:
        cx0, cy0, cx1, cy1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
        if cx1 - cx0 < 1 or cy1 - cy0 < 1:
            bdropped += 1
            continue
        if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
            notes.append(f"a box reaching outside the sketch was clipped to ({cx0:.0f}, {cy0:.0f}, {cx1:.0f}, {cy1:.0f})")
        boxes.append((cx0, cy0, cx1, cy1))
    if bdropped:
        notes.append(f"{bdropped} box(es) outside the sketch (or empty) were ignored")
    out = Strokes(strokes.positive, strokes.negative, points=points, boxes=boxes, notes=notes)
    if out.is_empty() and not strokes.is_empty():
        raise InputError(
            f"every click and box lies outside the {w}×{h} sketch; nothing to select (clicks are (x, y) in pixels)"
        )
    return out


def _touched(labels: np.ndarray, stroke: np.ndarray, n: int) -> np.ndarray:
    """Labels (0..n) touched by a stroke mask: by ≥ 20 of its pixels or ≥ 0.5 % of them (at least 1)."""
    hits = np.bincount(labels[stroke].ravel(), minlength=n + 1)
    total = int(stroke.sum())
    need = max(1, min(20, int(np.ceil(0.005 * total))))
    return np.flatnonzero(hits >= need)


def stroke_regions(
    labels: np.ndarray, n: int, strokes: Strokes
) -> tuple[set[int], set[int], dict[str, bool]]:
    """Which regions the strokes select and remove, on a label map (0 = background, lines assigned to regions).

    Returns:
        (positive labels, negative labels, facts) where facts says whether a positive stroke / click fell on the
        background only (``"pos_on_background"``), and whether one lay on line art (``"on_line"``).
    """
    h, w = labels.shape
    pos_mask = strokes.positive.numpy().copy()
    neg_mask = strokes.negative.numpy().copy()
    for x, y, positive in strokes.points:
        xi, yi = int(x), int(y)
        (pos_mask if positive else neg_mask)[yi, xi] = True
    pos = set(int(v) for v in _touched(labels, pos_mask, n)) if pos_mask.any() else set()
    neg = set(int(v) for v in _touched(labels, neg_mask, n)) if neg_mask.any() else set()
    for x0, y0, x1, y1 in strokes.boxes:
        box = np.zeros((h, w), bool)
        box[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))] = True
        inside = np.bincount(labels[box].ravel(), minlength=n + 1)
        total = np.bincount(labels.ravel(), minlength=n + 1)
        pos |= set(int(v) for v in np.flatnonzero((inside >= 0.5 * np.maximum(total, 1)) & (inside > 0)) if v > 0)
    facts = {
        "pos_on_background": bool((pos_mask.any() or strokes.boxes) and pos <= {0}),
        "pos_touches_background": 0 in pos,
    }
    pos.discard(0)
    neg.discard(0)
    return pos, neg, facts


def sample_points(mask: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Up to ``k`` well-spread points ``(k, 2)`` XY on a stroke mask (farthest-point sampling of its pixels)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros((0, 2), np.float32)
    pts = np.stack([xs, ys], 1).astype(np.float32)
    if len(pts) > 4000:
        rng = np.random.default_rng(seed)
        pts = pts[rng.choice(len(pts), 4000, replace=False)]
    chosen = [int(np.argmin(((pts - pts.mean(0)) ** 2).sum(1)))]
    d = ((pts - pts[chosen[0]]) ** 2).sum(1)
    while len(chosen) < min(k, len(pts)):
        i = int(np.argmax(d))
        if d[i] <= 0:
            break
        chosen.append(i)
        d = np.minimum(d, ((pts - pts[i]) ** 2).sum(1))
    return pts[chosen] + 0.5
