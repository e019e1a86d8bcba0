"""Sampling a swatch through pattern coordinates: wrap-around cubic, as :func:`garmentstyle.swatch.tile` does,
with the same antialiasing prefilter when the pattern is shrunk."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import swatch as swatch_ops


def wrap_cubic(swatch: torch.Tensor, u: torch.Tensor, v: torch.Tensor, *, zoom: float = 1.0) -> torch.Tensor:
    """``swatch`` ``(1, 3, h, w)`` sampled at swatch-pixel coordinates ``u`` (across) / ``v`` (down), each ``(H, W)``
    (pixel centres at integers, as in ``tile``), wrapping around its edges. ``zoom`` (canvas px per swatch px, the
    pattern's nominal size) < 1 prefilters the swatch like ``tile``. Returns ``(1, 3, H, W)`` in [0, 1]."""
    h, w = swatch.shape[-2:]
    src, _ = swatch_ops._prefilter(swatch, zoom)
    sh, sw = src.shape[-2:]
    if (sh, sw) != (h, w):
        u = (u + 0.5) * (sw / w) - 0.5
        v = (v + 0.5) * (sh / h) - 0.5
    return swatch_ops.wrap_sample(src, u, v)


def grid_lookup(maps: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, *, x0: float, y0: float,
                cell: float) -> torch.Tensor:
    """Bilinear values of ``maps`` ``(C, h, w)`` (cell centres at ``x0 + (j + ½)·cell``) at output points
    ``(xs, ys)`` ``(H, W)``; beyond the grid the edge value is kept. Returns ``(C, H, W)``."""
    C, h, w = maps.shape
    gx = (xs - x0) / (cell * w) * 2 - 1
    gy = (ys - y0) / (cell * h) * 2 - 1
    grid = torch.stack([gx, gy], dim=-1)[None].to(maps.dtype)
    return F.grid_sample(maps[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
