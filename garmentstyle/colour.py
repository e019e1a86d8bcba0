"""Colour control (Gatys et al. 2017, §5): luminance-only transfer and colour histogram matching.

Both keep the *sketch's* colours (useful on a coloured flat or croquis): luminance-only transfers the fabric's light
and dark structure and takes colour from the sketch; histogram matching first recolours the swatch so its colour mean
and covariance match the sketch region's. The default mode, "swatch", keeps the fabric's own colours.
Images are ``(1, 3, H, W)`` float RGB in [0, 1].
"""
from __future__ import annotations

import torch

from .options import COLOUR_MODES  # noqa: F401 - defined torch-free with the other option choices

_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]])
_YIQ2RGB = torch.linalg.inv(_RGB2YIQ)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB → YIQ (Y in [0, 1])."""
    return torch.einsum("ij,bjhw->bihw", _RGB2YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _YIQ2RGB.to(image), image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` → ``(B, 1, H, W)`` Rec. 601 luma in [0, 1].

    Channel by channel into one buffer: the same products added in the same order as a sum over the channel
    dimension (bit for bit), without its ``(B, 3, H, W)`` temporary (2.5× faster; the finishing and the page check
    take the luma of the whole sketch on every render)."""
    w = _RGB2YIQ[0].to(image)
    out = image[:, 0:1] * w[0]
    out += image[:, 1:2] * w[1]
    out += image[:, 2:3] * w[2]
    return out


def combine_luminance(lum: torch.Tensor, colour_from: torch.Tensor) -> torch.Tensor:
    """Output luminance ``(B, 1, H, W)`` + the chroma (I, Q) of ``colour_from`` ``(B, 3, H, W)`` → RGB in [0, 1]."""
    yiq = rgb_to_yiq(colour_from)
    return yiq_to_rgb(torch.cat([lum, yiq[:, 1:]], dim=1)).clamp(0, 1)


def match_histogram(source: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor | None = None,
                    *, eps: float = 1e-4) -> torch.Tensor:
    """Linear colour transfer: make ``source``'s colour mean and covariance equal ``reference``'s.

    Uses the symmetric (eigen) square roots of the covariances, as in Gatys et al. 2017. ``mask`` ``(H, W)`` limits
    the reference statistics to a region. Args/returns ``(1, 3, H, W)`` in [0, 1].
    """
    src = source[0].reshape(3, -1)
    ref = reference[0][:, mask >= 0.5] if mask is not None else reference[0].reshape(3, -1)
    if ref.shape[1] < 2:
        return source
    mu_s, mu_r = src.mean(1, keepdim=True), ref.mean(1, keepdim=True)
    eye = torch.eye(3, dtype=src.dtype, device=src.device) * eps
    cov_s = torch.cov(src) + eye
    cov_r = torch.cov(ref) + eye

    def sqrtm(c: torch.Tensor, inv: bool = False) -> torch.Tensor:
        vals, vecs = torch.linalg.eigh(c)
        vals = vals.clamp_min(eps)
        d = vals.rsqrt() if inv else vals.sqrt()
        return vecs @ torch.diag(d) @ vecs.T

    a = sqrtm(cov_r) @ sqrtm(cov_s, inv=True)
    out = a @ (src - mu_s) + mu_r
    return out.reshape_as(source[0]).unsqueeze(0).clamp(0, 1)


def chroma_spread(image: torch.Tensor, mask: torch.Tensor) -> float:
    """How coloured a region is: mean |I| + |Q| chroma inside ``mask`` (≈0 for black-and-white line art)."""
    yiq = rgb_to_yiq(image)[0, 1:]
    inside = yiq[:, mask >= 0.5]
    return float(inside.abs().mean()) if inside.numel() else 0.0
