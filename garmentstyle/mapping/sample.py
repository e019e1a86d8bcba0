"""Sampling a swatch through pattern coordinates: wrap-around bilinear, as :func:`garmentstyle.swatch.tile` does,
with the same antialiasing prefilter when the pattern is shrunk."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import swatch as swatch_ops


def wrap_bilinear(swatch: torch.Tensor, u: torch.Tensor, v: torch.Tensor, *, zoom: float = 1.0) -> torch.Tensor:
    """``swatch`` ``(1, 3, h, w)`` sampled at swatch-pixel coordinates ``u`` (across) / ``v`` (down), each ``(H, W)``
    (pixel centres at integers, as in ``tile``), wrapping around its edges. ``zoom`` (canvas px per swatch px, the
    pattern's nominal size) < 1 prefilters the swatch like ``tile``. Returns ``(1, 3, H, W)`` in [0, 1]."""
    h, w = swatch.shape[-2:]
    src, _ = swatch_ops._prefilter(swatch, zoom)
    sh, sw = src.shape[-2:]
    if (sh, sw) != (h, w):
        u = (u + 0.5) * (sw / w) - 0.5
        v = (v + 0.5) * (sh / h) - 0.5
    H, W = u.shape
    u0, v0 = torch.floor(u), torch.floor(v)
    fu, fv = (u - u0).unsqueeze(0), (v - v0).unsqueeze(0)
    u0, v0 = u0.long(), v0.long()
    flat = src[0].reshape(3, -1)

    def at(vi: torch.Tensor, ui: torch.Tensor) -> torch.Tensor:
        idx = (vi % sh) * sw + (ui % sw)
        return flat[:, idx.reshape(-1)].reshape(3, H, W)

    out = (at(v0, u0) * (1 - fu) * (1 - fv) + at(v0, u0 + 1) * fu * (1 - fv)
           + at(v0 + 1, u0) * (1 - fu) * fv + at(v0 + 1, u0 + 1) * fu * fv)
    return out.unsqueeze(0).clamp(0, 1)


def grid_lookup(maps: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, *, x0: float, y0: float,
                cell: float) -> torch.Tensor:
    """Bilinear values of ``maps`` ``(C, h, w)`` (cell centres at ``x0 + (j + ½)·cell``) at output points
    ``(xs, ys)`` ``(H, W)``; beyond the grid the edge value is kept. Returns ``(C, H, W)``."""
    C, h, w = maps.shape
    gx = (xs - x0) / (cell * w) * 2 - 1
    gy = (ys - y0) / (cell * h) * 2 - 1
    grid = torch.stack([gx, gy], dim=-1)[None].to(maps.dtype)
    return F.grid_sample(maps[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
