"""Coarse grids over a region's box: where the field and the parameterisation are computed.

A grid cell is ``cell × cell`` output pixels; cell ``(i, j)`` covers output pixels ``[y0 + i·cell, y0 + (i+1)·cell)``
× ``[x0 + j·cell, …)``. The grain field and the parameterisation are smooth, so solving them on a grid of a few
hundred cells a side and interpolating is exact enough and keeps a 1 MP region well under a second.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """Attributes: y0, x0 (output px of the grid's top-left corner, may be negative), cell (output px per cell, an
    integer ≥ 1 for the grids that pool an image; any positive number once :meth:`scaled`), shape ``(h, w)``."""

    y0: int
    x0: int
    cell: int
    shape: tuple[int, int]

    @staticmethod
    def around(mask: np.ndarray, *, max_side: int, margin: float = 0.15, min_margin_cells: int = 6) -> "Grid":
        """A grid over ``mask``'s ``(H, W)`` bool bounding box grown by ``margin`` of its size on every side, with
        cells as small as possible while the longer side stays ≤ ``max_side`` cells."""
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
        side = max(y1 - y0, x1 - x0)
        cell = max(1, math.ceil(side * (1 + 2 * margin) / max_side))
        pad = max(min_margin_cells * cell, int(round(margin * side)))
        h = math.ceil((y1 - y0 + 2 * pad) / cell)
        w = math.ceil((x1 - x0 + 2 * pad) / cell)
        return Grid(y0=y0 - pad, x0=x0 - pad, cell=cell, shape=(h, w))

    def coarser(self, factor: int) -> "Grid":
        """The grid with ``factor``× larger cells over (at least) the same area."""
        h, w = self.shape
        return Grid(self.y0, self.x0, self.cell * factor, (math.ceil(h / factor), math.ceil(w / factor)))

    def pool(self, image: np.ndarray, *, fill: float = 0.0, how: str = "mean") -> np.ndarray:
        """Average (or max) ``image`` ``(H, W)`` in output pixels over each cell → ``(h, w)``; outside the image
        counts as ``fill``."""
        H, W = image.shape
        h, w = self.shape
        c = self.cell
        big = np.full((h * c, w * c), fill, dtype=np.float64)
        sy0, sx0 = max(0, self.y0), max(0, self.x0)
        sy1, sx1 = min(H, self.y0 + h * c), min(W, self.x0 + w * c)
        if sy1 > sy0 and sx1 > sx0:
            big[sy0 - self.y0: sy1 - self.y0, sx0 - self.x0: sx1 - self.x0] = image[sy0:sy1, sx0:sx1]
        blocks = big.reshape(h, c, w, c)
        return blocks.max(axis=(1, 3)) if how == "max" else blocks.mean(axis=(1, 3))

    def scaled(self, factor: float) -> "Grid":
        """The same grid in an image ``factor``× larger (cells of ``cell × factor`` px; for lookups only)."""
        return Grid(self.y0 * factor, self.x0 * factor, self.cell * factor, self.shape)  # type: ignore[arg-type]

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """``(Y, X)`` each ``(h, w)``: output-pixel coordinates (pixel corners at integers) of the cell centres."""
        h, w = self.shape
        ys = self.y0 + (np.arange(h) + 0.5) * self.cell
        xs = self.x0 + (np.arange(w) + 0.5) * self.cell
        return np.meshgrid(ys, xs, indexing="ij")
