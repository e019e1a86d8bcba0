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


#: Keys' cubic convolution parameter of the sampler that lays a swatch onto a canvas: −0.75, torch's "bicubic"
#: ``grid_sample`` (the rotated and mapped paths), so the separable axis-aligned path (:func:`_tile_separable`)
#: gives the same image.
SAMPLE_CUBIC_A = -0.75
#: … of the antialiasing prefilter of a shrunk swatch: −0.5, Keys' own choice (PIL's and torch's antialiased
#: bicubic), widened by 1 / scale.
SHRINK_CUBIC_A = -0.5


def cubic_weights(t: torch.Tensor, a: float) -> torch.Tensor:
    """Keys' cubic convolution kernel at offsets ``t`` (input px; support ``(-2, 2)``), any shape."""
    t = t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def periodic_taps(n: int, pos: torch.Tensor, *, scale: float = 1.0,
                  a: float = SAMPLE_CUBIC_A) -> tuple[torch.Tensor, torch.Tensor]:
    """Where and how much of a period of ``n`` samples (pixel centres at integers) a cubic sample at each of
    ``pos`` ``(m,)`` (input px, any real) reads: ``(indices (m, K) long in [0, n), weights (m, K))``, each row of
    weights summing to 1. ``scale`` < 1 (output samples per input sample) widens the kernel by ``1 / scale``: the
    antialiasing of a shrink. Why cubic and not bilinear: bilinear weights soften a sample by up to half a pixel
    depending on where it falls between two source pixels, so a repeat laid at a fractional size showed bands of
    sharp and soft texture across the canvas (a twill at 1.3×: 0.69–0.81 of its true edge contrast, strip by
    strip; cubic 0.93–0.98)."""
    widen = min(float(scale), 1.0)
    support = 2.0 / widen
    k = int(math.ceil(2 * support))
    first = torch.floor(pos - support) + 1
    taps = first[:, None] + torch.arange(k, device=pos.device, dtype=pos.dtype)
    w = cubic_weights((taps - pos[:, None]) * widen, a)
    w = w / w.sum(dim=1, keepdim=True)
    return taps.long() % n, w


def resample_columns(img: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``img`` ``(C, h, n)`` → ``(C, h, m)``: output column ``j`` = Σ_k ``w[j, k]`` · column ``idx[j, k]``."""
    out = img.index_select(2, idx[:, 0]).mul_(w[:, 0])
    for k in range(1, idx.shape[1]):
        out.addcmul_(img.index_select(2, idx[:, k]), w[:, k])
    return out


def resample_rows(img: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``img`` ``(C, n, W)`` → ``(C, m, W)``: output row ``i`` = Σ_k ``w[i, k]`` · row ``idx[i, k]``. Whole rows
    are gathered per channel from a 2-D plane (a memory copy each, ~6× faster than gathering along dim 1 of the
    3-D tensor) and summed in place."""
    C, W = img.shape[0], img.shape[2]
    m = idx.shape[0]
    out = torch.empty((C, m, W), device=img.device, dtype=img.dtype)
    tmp = torch.empty((m, W), device=img.device, dtype=img.dtype)
    for c in range(C):
        plane = img[c]
        torch.index_select(plane, 0, idx[:, 0], out=out[c])
        out[c].mul_(w[:, :1])
        for k in range(1, idx.shape[1]):
            torch.index_select(plane, 0, idx[:, k], out=tmp)
            out[c].addcmul_(tmp, w[:, k:k + 1])
    return out


def _prefilter(swatch: torch.Tensor, zoom: float) -> tuple[torch.Tensor, tuple[float, float]]:
    """When shrinking (``zoom`` < 1), resample the swatch first to ``round(side × zoom)`` px with an antialiasing
    cubic, computed over the period itself (so it stays exactly tileable and in place: sample ``i`` sits at
    ``(i + ½) · side / new_side − ½``). Returns the swatch to sample and the zoom left to apply to it,
    ``(down, across)`` canvas px per its px: the two differ by the rounding of each side, and keeping both is what
    lays a repeat at exactly ``side × zoom`` canvas px each way (one zoom for both made a shrunk repeat up to
    ``½ / new_side`` too tall: 1.3 % for a 48 px side at 0.93)."""
    if zoom >= 0.999:
        return swatch, (zoom, zoom)
    h, w = swatch.shape[-2:]
    nh, nw = max(4, round(h * zoom)), max(4, round(w * zoom))
    dev, dt = swatch.device, swatch.dtype
    rows = periodic_taps(h, (torch.arange(nh, device=dev, dtype=dt) + 0.5) * (h / nh) - 0.5, scale=nh / h,
                         a=SHRINK_CUBIC_A)
    cols = periodic_taps(w, (torch.arange(nw, device=dev, dtype=dt) + 0.5) * (w / nw) - 0.5, scale=nw / w,
                         a=SHRINK_CUBIC_A)
    small = resample_columns(resample_rows(swatch[0], *rows), *cols)
    return small.clamp_(0, 1).unsqueeze(0), (zoom * h / nh, zoom * w / nw)


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
        ``(1, 3, H, W)`` float in [0, 1]; cubic, wrapping around the swatch's edges.
    """
    if zoom <= 0:
        raise InputError(f"pattern zoom must be positive, got {zoom}")
    src, zooms = _prefilter(swatch, zoom)
    H, W = size
    ox, oy = origin if origin is not None else (W / 2.0, H / 2.0)
    if rotation == 0:
        return _tile_separable(src, size, zooms, (ox, oy))
    return _tile_rotated(src, size, zooms, rotation, (ox, oy))


def _tile_rotated(src: torch.Tensor, size: tuple[int, int], zooms: tuple[float, float], rotation: float,
                  origin: tuple[float, float]) -> torch.Tensor:
    """:func:`tile` of an already prefiltered ``src`` (``zooms`` = ``(down, across)`` canvas px per its px, from
    :func:`_prefilter`) through 2-D texture coordinates: any rotation."""
    H, W = size
    dev, dt = src.device, src.dtype
    ys = torch.arange(H, device=dev, dtype=dt) + 0.5 - origin[1]
    xs = torch.arange(W, device=dev, dtype=dt) + 0.5 - origin[0]
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    th = math.radians(rotation)
    c, s = math.cos(th), math.sin(th)
    u = (c * xx - s * yy) / zooms[1] - 0.5  # inverse rotation: canvas → pattern space
    v = (s * xx + c * yy) / zooms[0] - 0.5
    return wrap_sample(src, u, v)


def _tile_separable(src: torch.Tensor, size: tuple[int, int], zooms: tuple[float, float],
                    origin: tuple[float, float]) -> torch.Tensor:
    """:func:`tile` of an already prefiltered ``src`` without rotation, computed separably (columns, then rows):
    the same coordinates and cubic weights as :func:`_tile_rotated` at 0° (equal to float rounding, tested), 4 + 4
    taps per pixel instead of 16, and exact where a sample falls on a source pixel (a swatch at zoom 1 is laid bit
    for bit). ``(1, 3, h, w)`` → ``(1, 3, H, W)`` in [0, 1]."""
    h, w = src.shape[-2:]
    H, W = size
    dev, dt = src.device, src.dtype
    u = (torch.arange(W, device=dev, dtype=dt) + 0.5 - origin[0]) / zooms[1] - 0.5
    v = (torch.arange(H, device=dev, dtype=dt) + 0.5 - origin[1]) / zooms[0] - 0.5
    cols = resample_columns(src[0], *periodic_taps(w, u))  # (3, h, W)
    return resample_rows(cols, *periodic_taps(h, v)).unsqueeze(0).clamp_(0, 1)


#: Circular padding for a cubic sample (taps ``floor(u) − 1 … floor(u) + 2``), one more than the kernel's reach: a
#: coordinate just below 0 taken modulo the period can round up to the period itself.
_CUBIC_REACH = 3


def wrap_sample(src: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Cubic samples (Keys, a = −0.75) of ``src`` ``(1, 3, h, w)`` at pixel coordinates ``u`` (across) / ``v``
    (down), each ``(H, W)`` (pixel centres at integers), wrapping around its edges: the one sampler behind
    :func:`tile` and the grain mapping's texture coordinates. Returns ``(1, 3, H, W)`` in [0, 1].

    How: the coordinates are taken modulo the period and ``src`` is padded circularly by the kernel's reach, so
    torch's own bicubic ``grid_sample`` (one fused pass, ~3× faster than four gathers of bilinear here) reads the
    wrapped neighbours."""
    h, w = src.shape[-2:]
    r = _CUBIC_REACH
    padded = F.pad(src, (r, r, r, r), mode="circular")
    gx = (torch.remainder(u, w) + (r + 0.5)) * (2.0 / (w + 2 * r)) - 1
    gy = (torch.remainder(v, h) + (r + 0.5)) * (2.0 / (h + 2 * r)) - 1
    grid = torch.stack([gx, gy], dim=-1).unsqueeze(0).to(src.dtype)
    return F.grid_sample(padded, grid, mode="bicubic", padding_mode="border", align_corners=False).clamp_(0, 1)


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
