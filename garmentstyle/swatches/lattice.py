"""Straighten a periodic swatch and cut an exact repeat that wraps.

The tile is an affine resampling of the photo: tile pixel (x, y) ↦ origin + x/W·V1 + y/H·V2 where V1, V2 are
lattice vectors (whole numbers of cells), so the tile's right edge continues into its left edge by construction,
and the rotation and skew of the lattice are undone in the same step. Every copy of that cell the photo holds is
sampled and the per-pixel median taken (up to ``MAX_COPIES``), which removes noise, JPEG blocks and what is left of
uneven light without blurring the pattern (the copies are aligned to a fraction of a pixel by the lattice fit).
Stripes (a 1-D lattice) are exact across the stripes; along them the strip is closed with a minimum-error cut.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .quilt import wrap_cut
from .types import Lattice

#: Most cell copies combined into the median.
MAX_COPIES = 9
#: Shortest tile side wanted: small cells are repeated a whole number of times up to at least this.
MIN_TILE = 64
#: Longest tile side made (a huge repeat is kept whole, but a long stripe strip is capped).
MAX_TILE = 512


def _cells(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    """Two lattice vectors (integer combinations of a1, a2) nearest the x and y axes, shortest first: the
    rectangle-like cell that becomes the tile (a staggered polka dot grid gives a 2-dot supercell)."""
    a1, a2 = np.asarray(lat.a1), np.asarray(lat.a2)
    best_x, best_y = None, None
    for m in range(-4, 5):
        for n in range(-4, 5):
            if (m, n) == (0, 0):
                continue
            v = m * a1 + n * a2
            L = float(np.hypot(*v))
            ang_x = abs(math.atan2(v[1], v[0]))  # v pointing right
            ang_y = abs(math.atan2(v[0], v[1]))  # v pointing down
            if ang_x < math.radians(20) and (best_x is None or L < best_x[0] - 1e-6):
                best_x = (L, v)
            if ang_y < math.radians(20) and (best_y is None or L < best_y[0] - 1e-6):
                best_y = (L, v)
    if best_x is None or best_y is None:  # an oblique lattice with nothing near the axes: use it as it is
        return a1, a2
    return best_x[1], best_y[1]


def _multiple(length: float) -> tuple[int, int]:
    """(cells k, tile px n): k·length ≈ n with n ≥ MIN_TILE; the fewest cells whose rounding to whole pixels
    changes the scale by under 0.2 % (fewer cells = more copies of the cell in the photo for the median, which is
    what removes a shadow), else the smallest rounding error."""
    best = None
    for k in range(1, 17):
        n = k * length
        if n > MAX_TILE and k > 1:
            break
        if n < MIN_TILE and k < 16:
            continue
        err = abs(n - round(n)) / n
        if err < 0.002:
            return k, max(1, int(round(n)))
        if best is None or err < best[0] - 1e-4:
            best = (err, k, max(1, int(round(n))))
    assert best is not None
    return best[1], best[2]


def _sample(rgb: np.ndarray, origin: np.ndarray, V1: np.ndarray, V2: np.ndarray, size: tuple[int, int],
            shifts: list[np.ndarray], valid: Optional[np.ndarray] = None, order: int = 3) -> np.ndarray:
    """Median over ``shifts`` of the photo resampled (cubic) on the grid origin + x/W·V1 + y/H·V2 + shift;
    samples where ``valid`` ``(H, W)`` is False (clipped highlights) are left out of the median where any copy
    is valid."""
    from scipy import ndimage
    W, H = size
    xs = (np.arange(W) + 0.5) / W
    ys = (np.arange(H) + 0.5) / H
    gx, gy = np.meshgrid(xs, ys)
    px = origin[0] + gx * V1[0] + gy * V2[0]
    py = origin[1] + gx * V1[1] + gy * V2[1]
    # crop to the copies' bounding box first: the cubic prefilter is then computed once, on what is sampled
    allx = np.concatenate([px.ravel()[[0, -1]] + s[0] for s in shifts] + [px[[0, -1]][:, [0, -1]].ravel() + s[0]
                                                                           for s in shifts])
    ally = np.concatenate([py[[0, -1]][:, [0, -1]].ravel() + s[1] for s in shifts])
    x0 = max(0, int(np.floor(allx.min())) - 4)
    y0 = max(0, int(np.floor(ally.min())) - 4)
    x1 = min(rgb.shape[1], int(np.ceil(allx.max())) + 5)
    y1 = min(rgb.shape[0], int(np.ceil(ally.max())) + 5)
    coef = [ndimage.spline_filter(rgb[y0:y1, x0:x1, c].astype(np.float64), order=3, mode="reflect")
            if order == 3 else rgb[y0:y1, x0:x1, c] for c in range(3)]
    out = []
    for s in shifts:
        chans = [ndimage.map_coordinates(coef[c], [py + s[1] - 0.5 - y0, px + s[0] - 0.5 - x0], order=order,
                                         mode="reflect", prefilter=False) for c in range(3)]
        out.append(np.stack(chans, axis=-1))
    stack = np.stack(out)
    med = np.median(stack, axis=0)
    if valid is not None and len(shifts) > 1:
        ok = np.stack([ndimage.map_coordinates(valid.astype(np.float32), [py + s[1] - 0.5, px + s[0] - 0.5],
                                               order=1, mode="nearest") > 0.5 for s in shifts])
        masked = np.where(ok[..., None], stack, np.nan)
        some = ok.any(axis=0)
        with np.errstate(all="ignore"):
            vmed = np.nanmedian(masked[:, some], axis=0)
        med[some] = vmed
    return np.clip(med, 0.0, 1.0).astype(np.float32)


def _copies(shape: tuple[int, int], origin: np.ndarray, V1: np.ndarray, V2: np.ndarray) -> list[np.ndarray]:
    """Shifts (whole cells) that keep the whole cell inside the photo, nearest the centre first."""
    h, w = shape
    corners = np.array([[0, 0], V1, V2, V1 + V2])
    shifts = []
    for i in range(-12, 13):
        for j in range(-12, 13):
            s = i * V1 + j * V2
            c = origin + s + corners
            if c[:, 0].min() >= 1 and c[:, 1].min() >= 1 and c[:, 0].max() <= w - 1 and c[:, 1].max() <= h - 1:
                shifts.append(s)
    centre = origin + (V1 + V2) / 2 - np.array([w / 2, h / 2])
    shifts.sort(key=lambda s: float(np.hypot(*(centre + s))))
    return shifts[:MAX_COPIES]


def cut_repeat(rgb: np.ndarray, lat: Lattice, *, valid: Optional[np.ndarray] = None,
               draft: bool = False) -> tuple[np.ndarray, dict]:
    """An exact, straightened repeat of a periodic photo.

    Args:
        rgb: ``(H, W, 3)`` float32 in [0, 1], light already flattened.
        lat: its lattice (2-D or stripes).
        valid: ``(H, W)`` bool, False where the photo is clipped (left out of the median across copies).
        draft: bilinear instead of cubic resampling (for the intermediate cuts the light is refined from).

    Returns:
        ``(h, w, 3)`` tile, and facts: ``origin`` (x, y), ``cell`` (V1, V2) in photo px, ``cells`` (copies
        combined), ``px_per_source_px`` (tile px per photo px, ≈1), ``repeat_px`` (one repeat along the tile's
        width, tile px).

    Raises:
        ValueError: the photo does not hold one whole cell (the caller turns it into a message).
    """
    h, w = rgb.shape[:2]
    if lat.a2 is None:
        return _cut_stripes(rgb, lat, valid, 1 if draft else 3)
    V1, V2 = _cells(lat)
    k1, W = _multiple(float(np.hypot(*V1)))
    k2, H = _multiple(float(np.hypot(*V2)))
    V1, V2 = V1 * k1, V2 * k2
    origin = np.array([w / 2, h / 2]) - (V1 + V2) / 2
    shifts = _copies((h, w), origin, V1, V2)
    if not shifts:
        raise ValueError("the photo does not hold one whole repeat")
    tile = _sample(rgb, origin, V1, V2, (W, H), shifts, valid, 1 if draft else 3)
    sx = W / float(np.hypot(*V1))
    sy = H / float(np.hypot(*V2))
    return tile, {"origin": (float(origin[0]), float(origin[1])), "cell": (tuple(map(float, V1)), tuple(map(float, V2))),
                  "cells": len(shifts), "px_per_source_px": math.sqrt(sx * sy), "repeat_px": W / k1}


def _cut_stripes(rgb: np.ndarray, lat: Lattice, valid: Optional[np.ndarray], order: int) -> tuple[np.ndarray, dict]:
    """Stripes: exact across (a whole number of periods), a min-error cut closes the strip along them."""
    h, w = rgb.shape[:2]
    a = np.asarray(lat.a1)
    period = float(np.hypot(*a))
    n = a / period
    d = np.array([n[1], -n[0]])  # along the stripes
    horizontal = abs(d[0]) >= abs(d[1])
    if horizontal:  # tile x along the stripes (right), y across (down)
        d, n = (d if d[0] > 0 else -d), (n if n[1] > 0 else -n)
    else:  # sampled transposed (x down the stripes, y to the right), transposed back below
        d, n = (d if d[1] > 0 else -d), (n if n[0] > 0 else -n)
    k, P = _multiple(period)
    Vn = n * period * k
    # longest strip along the stripes that fits (with 3 copies across), capped
    reach = min(w / max(abs(d[0]), 1e-6), h / max(abs(d[1]), 1e-6))
    L = int(min(MAX_TILE, max(MIN_TILE, 0.6 * reach)))
    ov = max(8, L // 8)
    Vd = d * (L + ov)
    origin = np.array([w / 2, h / 2]) - (Vd + Vn) / 2
    shifts = [s for s in _copies((h, w), origin, Vd, Vn) if abs(float(s @ d)) < 1e-6]
    if not shifts:
        raise ValueError("the photo does not hold one whole repeat")
    strip = _sample(rgb, origin, Vd, Vn, (L + ov, P), shifts, valid, order)  # (P, L+ov): x along the stripes
    tile = wrap_cut(strip, ov)  # (P, L)
    facts = {"origin": (float(origin[0]), float(origin[1])),
             "cell": (tuple(map(float, d * L)), tuple(map(float, Vn))), "cells": len(shifts),
             "px_per_source_px": math.sqrt(P / (period * k)), "repeat_px": P / k}
    if not horizontal:  # tile columns run across the stripes (Vn), rows along them
        tile = np.ascontiguousarray(np.transpose(tile, (1, 0, 2)))
        facts["cell"] = (facts["cell"][1], facts["cell"][0])
    return tile, facts


def resynthesize(tile: np.ndarray, facts: dict, shape: tuple[int, int]) -> np.ndarray:
    """The tile laid back over the photo's grid ``(H, W, 3)`` through the cut's affine map (the inverse of
    :func:`cut_repeat`'s sampling): what the photo would show under perfectly even light."""
    from scipy import ndimage
    h, w = shape
    th, tw = tile.shape[:2]
    (v1x, v1y), (v2x, v2y) = facts["cell"]
    M = np.array([[v1x / tw, v2x / th], [v1y / tw, v2y / th]])
    inv = np.linalg.inv(M)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    dx = xs + 0.5 - facts["origin"][0]
    dy = ys + 0.5 - facts["origin"][1]
    tx = (inv[0, 0] * dx + inv[0, 1] * dy - 0.5) % tw
    ty = (inv[1, 0] * dx + inv[1, 1] * dy - 0.5) % th
    pad = 2
    big = np.pad(tile, ((pad, pad), (pad, pad), (0, 0)), mode="wrap")
    return np.stack([ndimage.map_coordinates(big[..., c], [ty + pad, tx + pad], order=1) for c in range(3)], -1)
