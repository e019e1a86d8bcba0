"""Image quilting on a wrap-around canvas (Efros & Freeman, SIGGRAPH 2001), so the result tiles.

Blocks of the photo are laid in raster order on a torus: each new block is the best match (sum of squared
differences over what is already there, found for every position at once with FFT correlations) among the source's
blocks, picked at random among those within 10 % of the best, and joined along minimum-error boundary cuts (dynamic
programming through the overlap's squared difference). The last block of a row overlaps the first one (and the last
row the first row), so the canvas's right edge runs into its left edge through a cut like any other: the tile is
seamless by construction. Pure functions on ``(H, W, 3)`` float32 arrays in [0, 1].
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np


def min_cut(err: np.ndarray) -> np.ndarray:
    """Minimum-error vertical path through ``err`` ``(H, w)``: for each row, the column where the path runs."""
    h, w = err.shape
    cost = err.astype(np.float64).copy()
    back = np.zeros((h, w), np.int64)
    for y in range(1, h):
        prev = cost[y - 1]
        cand = np.stack([np.r_[np.inf, prev[:-1]], prev, np.r_[prev[1:], np.inf]])
        k = np.argmin(cand, axis=0)
        back[y] = np.arange(w) + k - 1
        cost[y] += cand[k, np.arange(w)]
    path = np.zeros(h, np.int64)
    path[-1] = int(np.argmin(cost[-1]))
    for y in range(h - 1, 0, -1):
        path[y - 1] = back[y, path[y]]
    return path


def wrap_cut(strip: np.ndarray, ov: int) -> np.ndarray:
    """Close a strip ``(H, L + ov, 3)`` into a tile ``(H, L, 3)`` that wraps left-right: its last ``ov`` columns are
    laid over its first ``ov`` and joined along a minimum-error cut."""
    h, total = strip.shape[:2]
    L = total - ov
    start, end = strip[:, :ov], strip[:, L:]
    path = min_cut(((start - end) ** 2).sum(axis=-1))
    cols = np.arange(ov)[None, :]
    use_end = cols < path[:, None]  # left of the cut: the strip's end (continues from column L-1)
    out = strip[:, :L].copy()
    out[:, :ov] = np.where(use_end[..., None], end, start)
    return out


class _Correlator:
    """SSD of a masked template against every position of a fixed source, via precomputed FFTs."""

    def __init__(self, src: np.ndarray, block: int) -> None:
        from scipy import fft as sfft
        self.src = src
        self.b = block
        h, w = src.shape[:2]
        self.shape = (sfft.next_fast_len(h + block), sfft.next_fast_len(w + block))
        self.f_src = [sfft.rfft2(src[..., c], s=self.shape, workers=2) for c in range(3)]
        self.f_sq = sfft.rfft2((src ** 2).sum(-1), s=self.shape, workers=2)
        self.valid = (h - block + 1, w - block + 1)

    def ssd(self, tmpl: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(h-b+1, w-b+1)`` Σ mask·(src_patch − tmpl)² for every top-left position."""
        from scipy import fft as sfft
        flip = lambda a: a[::-1, ::-1]
        fm = sfft.rfft2(flip(mask), s=self.shape, workers=2)
        acc = self.f_sq * fm
        for c in range(3):
            acc = acc - 2 * self.f_src[c] * sfft.rfft2(flip(mask * tmpl[..., c]), s=self.shape, workers=2)
        full = sfft.irfft2(acc, s=self.shape, workers=2)
        b = self.b
        out = full[b - 1: b - 1 + self.valid[0], b - 1: b - 1 + self.valid[1]]
        return out + float((mask[..., None] * tmpl ** 2).sum())


def _grid(size: int, target_block: int) -> tuple[int, int, int]:
    """(blocks per side n, step, overlap) with n·step == size exactly (the torus closes)."""
    best = None
    for n in range(2, 65):
        if size % n:
            continue
        step = size // n
        ov = max(3, step // 4)
        score = abs(step + ov - target_block)
        if best is None or score < best[0]:
            best = (score, n, step, ov)
    if best is None:
        raise ValueError(f"tile size {size} has no block grid")
    return best[1], best[2], best[3]


def quilt(src: np.ndarray, size: int, *, block: int = 40, seed: int = 0, tolerance: float = 0.1,
          check: Optional[Callable[[], None]] = None) -> np.ndarray:
    """A seamless ``(size, size, 3)`` tile quilted from ``src`` ``(H, W, 3)``.

    Args:
        src: the (light-flattened) photo, float32 in [0, 1], at least ``block`` px each side.
        size: tile side in px (the block grid divides it exactly).
        block: wanted block side in px (a few times the texture's feature size).
        seed: random seed (the choice among the near-best blocks).
        tolerance: blocks within (1 + tolerance)·best SSD are candidates.
        check: called before each row of blocks; raises to stop (a cancelled render).
    """
    rng = np.random.default_rng(seed)
    n, step, ov = _grid(size, block)
    b = step + ov
    if min(src.shape[:2]) < b + 2:
        raise ValueError(f"the photo ({src.shape[1]}×{src.shape[0]} px) is smaller than one block ({b} px)")
    corr = _Correlator(src, b)
    canvas = np.zeros((size, size, 3), np.float32)
    filled = np.zeros((size, size), bool)
    for bi in range(n):
        if check is not None:
            check()
        for bj in range(n):
            ys = (bi * step + np.arange(b)) % size
            xs = (bj * step + np.arange(b)) % size
            tmpl = canvas[np.ix_(ys, xs)]
            known = filled[np.ix_(ys, xs)]
            if not known.any():
                y, x = rng.integers(0, corr.valid[0]), rng.integers(0, corr.valid[1])
            else:
                ssd = corr.ssd(tmpl, known.astype(np.float32))
                lo = float(ssd.min())
                cand = np.argwhere(ssd <= lo + tolerance * max(lo, 1e-6))
                y, x = cand[rng.integers(0, len(cand))]
            patch = src[y: y + b, x: x + b]
            new = _cut_mask(patch, tmpl, known, ov, left=bj > 0, top=bi > 0, right=bj == n - 1, bottom=bi == n - 1)
            canvas[np.ix_(ys, xs)] = np.where(new[..., None], patch, tmpl)
            filled[np.ix_(ys, xs)] = True
    return canvas


def _cut_mask(patch: np.ndarray, tmpl: np.ndarray, known: np.ndarray, ov: int, *, left: bool, top: bool,
              right: bool, bottom: bool) -> np.ndarray:
    """``(b, b)`` bool: where the new block shows, bounded by minimum-error cuts through each overlap it has."""
    b = patch.shape[0]
    err = ((patch - tmpl) ** 2).sum(-1)
    new = np.ones((b, b), bool)
    cols = np.arange(b)
    if left:
        p = min_cut(err[:, :ov])
        new &= cols[None, :] >= p[:, None]
    if right:
        p = min_cut(err[:, b - ov:][:, ::-1])  # distance from the right edge
        new &= cols[None, :] <= (b - 1 - p)[:, None]
    if top:
        p = min_cut(err[:ov, :].T)
        new &= cols[:, None] >= p[None, :]
    if bottom:
        p = min_cut(err[b - ov:, :][::-1].T)
        new &= cols[:, None] <= (b - 1 - p)[None, :]
    return new | ~known
