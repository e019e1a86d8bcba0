"""Swatches: pattern scale, rotation and seamless tiling onto a canvas of any size.

A swatch is one repeat of a fabric (a photo or a print), ``(1, 3, h, w)`` float RGB in [0, 1]. It is laid onto a
canvas by wrap-around sampling, so a seamless swatch tiles without seams at any scale and rotation; this gives both
the tiled initialisation and the seam-free canvases the style targets are computed on.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .errors import InputError

#: Smallest swatch side accepted: below this a Gram matrix sees too few patterns to mean anything.
MIN_SWATCH_SIDE = 16


def check_swatch(swatch: torch.Tensor, *, name: str = "swatch") -> torch.Tensor:
    """Validate ``(1, 3, h, w)``; raise :class:`InputError` for swatches too small to carry a texture."""
    if swatch.ndim != 4 or swatch.shape[:2] != (1, 3):
        raise InputError(f"{name}: expected an image tensor (1, 3, h, w), got {tuple(swatch.shape)}")
    h, w = swatch.shape[-2:]
    if min(h, w) < MIN_SWATCH_SIDE:
        raise InputError(
            f"{name}: the swatch is {w}×{h} px; at least {MIN_SWATCH_SIDE}×{MIN_SWATCH_SIDE} px of fabric is needed "
            "to capture its texture (crop a larger piece of the fabric)"
        )
    return swatch


def _prefilter(swatch: torch.Tensor, zoom: float) -> tuple[torch.Tensor, float]:
    """When shrinking (``zoom`` < 1), resample the swatch first with antialiasing (circularly padded, so it stays
    tileable); returns the smaller swatch and the zoom left to apply."""
    if zoom >= 0.999:
        return swatch, zoom
    h, w = swatch.shape[-2:]
    nh, nw = max(4, round(h * zoom)), max(4, round(w * zoom))
    pad = 4
    padded = F.pad(swatch, (pad, pad, pad, pad), mode="circular")
    sh, sw = nh / h, nw / w
    out = F.interpolate(padded, size=(round((h + 2 * pad) * sh), round((w + 2 * pad) * sw)), mode="bilinear",
                        antialias=True, align_corners=False)
    ph, pw = round(pad * sh), round(pad * sw)
    small = out[..., ph: ph + nh, pw: pw + nw].contiguous()
    return small, zoom * w / nw  # canvas px per *small* swatch px (the small swatch is nw/w of the original)


def tile(swatch: torch.Tensor, size: tuple[int, int], *, zoom: float = 1.0, rotation: float = 0.0,
         origin: tuple[float, float] | None = None) -> torch.Tensor:
    """Lay ``swatch`` repeatedly over a canvas.

    Args:
        swatch: ``(1, 3, h, w)`` float in [0, 1], one repeat.
        size: canvas ``(H, W)``.
        zoom: canvas pixels per swatch pixel (2 = each repeat twice as large).
        rotation: degrees, counter-clockwise, about ``origin``.
        origin: canvas position ``(x, y)`` (may lie outside the canvas) where a swatch corner sits; default the
            canvas centre. Crops and pyramid levels of one render pass the same point in their own coordinates, so
            the pattern lines up from preview to final.

    Returns:
        ``(1, 3, H, W)`` float in [0, 1]; bilinear, wrapping around the swatch's edges.
    """
    if zoom <= 0:
        raise InputError(f"pattern zoom must be positive, got {zoom}")
    src, zoom = _prefilter(swatch, zoom)
    h, w = src.shape[-2:]
    H, W = size
    ox, oy = origin if origin is not None else (W / 2.0, H / 2.0)
    dev, dt = src.device, src.dtype
    ys = torch.arange(H, device=dev, dtype=dt) + 0.5 - oy
    xs = torch.arange(W, device=dev, dtype=dt) + 0.5 - ox
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    th = math.radians(rotation)
    c, s = math.cos(th), math.sin(th)
    u = (c * xx - s * yy) / zoom - 0.5  # inverse rotation: canvas → pattern space
    v = (s * xx + c * yy) / zoom - 0.5
    return wrap_sample(src, u, v)


def wrap_sample(src: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``src`` ``(1, 3, h, w)`` at pixel coordinates ``u`` (across) / ``v`` (down), each
    ``(H, W)`` (pixel centres at integers), wrapping around its edges: the one sampler behind :func:`tile` and the
    grain mapping's texture coordinates. Returns ``(1, 3, H, W)`` in [0, 1]."""
    h, w = src.shape[-2:]
    H, W = u.shape
    u0, v0 = torch.floor(u), torch.floor(v)
    fu, fv = (u - u0).unsqueeze(0), (v - v0).unsqueeze(0)
    u0, v0 = u0.long(), v0.long()
    flat = src[0].reshape(3, -1)

    def at(vi: torch.Tensor, ui: torch.Tensor) -> torch.Tensor:
        idx = (vi % h) * w + (ui % w)
        return flat[:, idx.reshape(-1)].reshape(3, H, W)

    out = (at(v0, u0) * (1 - fu) * (1 - fv) + at(v0, u0 + 1) * fu * (1 - fv)
           + at(v0 + 1, u0) * (1 - fu) * fv + at(v0 + 1, u0 + 1) * fu * fv)
    return out.unsqueeze(0).clamp(0, 1)


def stretch(swatch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The swatch resized to ``size`` (the classic "init from the style image")."""
    return F.interpolate(swatch, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)



def make_tileable(swatch: torch.Tensor, *, band: float = 0.25) -> torch.Tensor:
    """Hide the seams of a swatch that was cut from a larger piece of cloth, so it tiles.

    The classic offset-and-blend: near its edges the swatch is cross-faded into a copy of itself shifted by half
    its size, whose content runs continuously across the wrap-around edge. The centre (all but ``band`` of the
    width/height on each side) is untouched; the blend band may show faint ghosting on strongly structured prints,
    so this is opt-in (``Region(tileable=True)``), meant for photos of cloth.

    Args: swatch ``(1, 3, h, w)`` in [0, 1]; band in (0, 0.5]. Returns the same shape, tileable.
    """
    if not 0 < band <= 0.5:
        raise InputError(f"band must be in (0, 0.5], got {band}")
    h, w = swatch.shape[-2:]
    shifted = torch.roll(swatch, shifts=(h // 2, w // 2), dims=(-2, -1))

    def ramp(n: int) -> torch.Tensor:
        pos = torch.arange(n, dtype=swatch.dtype, device=swatch.device) + 0.5
        edge = torch.minimum(pos, n - pos)  # distance to the nearer edge
        return (edge / max(1.0, band * n)).clamp(0, 1)

    weight = torch.minimum(ramp(h)[:, None], ramp(w)[None, :])  # 0 at the edges, 1 inside
    weight = weight * weight * (3 - 2 * weight)  # smoothstep: no visible crease where the blend starts
    return swatch * weight + shifted * (1 - weight)
