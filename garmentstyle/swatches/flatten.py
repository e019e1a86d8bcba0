"""Flatten the light of a swatch photo: remove gradients, vignettes and soft shadows, keep the fabric.

Illumination is multiplicative and slow, the fabric's own structure is fast and repeats, so the light is estimated
on log-luminance as (a) a robust quadratic surface (the gradient and vignette, fitted over the whole photo, so there
is no edge bias) plus (b) the remainder smoothed at a scale of at least one lattice period (a soft shadow). A
Gaussian that wide removes the pattern's fundamental by a factor e^-20, so a check's big blocks are not taken for
light. The photo is divided by that estimate, the same factor on R, G and B: hue, saturation and the fabric's local
contrast stay as photographed. Pure functions on ``(H, W, 3)`` float32 arrays in [0, 1].
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import ndimage

from .analyse import luminance, smooth

#: Luminance floor before the log (black threads must not dominate the fit).
_EPS = 0.02


def _quadratic_fit(logl: np.ndarray, step: int, mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Least-squares quadratic surface through ``logl`` ``(H, W)`` sampled every ``step`` px (where ``mask``), with
    outlier rejection (dark motifs and highlights are fabric, not light)."""
    h, w = logl.shape
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    if mask is not None:
        keep0 = mask[ys, xs]
        ys, xs = ys[keep0], xs[keep0]
    v = logl[ys, xs].ravel()
    yn, xn = ys.ravel() / h - 0.5, xs.ravel() / w - 0.5
    A = np.stack([np.ones_like(xn), xn, yn, xn * xn, xn * yn, yn * yn], axis=1)
    keep = np.ones(len(v), bool)
    for _ in range(2):
        coef = np.linalg.lstsq(A[keep], v[keep], rcond=None)[0]
        res = v - A @ coef
        mad = np.median(np.abs(res[keep])) + 1e-6
        keep = np.abs(res) < 3.0 * 1.4826 * mad
    Y, X = np.mgrid[0:h, 0:w]
    Xn, Yn = X / w - 0.5, Y / h - 0.5
    return (coef[0] + coef[1] * Xn + coef[2] * Yn + coef[3] * Xn * Xn + coef[4] * Xn * Yn
            + coef[5] * Yn * Yn).astype(np.float32)


def illumination(rgb: np.ndarray, *, period: Optional[float] = None) -> np.ndarray:
    """Multiplicative light field ``(H, W)`` (mean of its log = 0) of a photo ``(H, W, 3)``.

    Args:
        rgb: the photo, float in [0, 1].
        period: the longest lattice period in px when known; the smoothing scale is at least this (and at least
            1/10 of the shorter side), so the pattern itself is never estimated as light.
    """
    h, w = rgb.shape[:2]
    logl = np.log(np.maximum(luminance(rgb), _EPS)).astype(np.float32)
    surface = _quadratic_fit(logl, max(1, min(h, w) // 64))
    sigma = max(period or 0.0, min(h, w) / 10)
    rest = smooth(logl - surface, sigma)
    field = surface + rest
    return np.exp(field - field.mean()).astype(np.float32)


def flatten(rgb: np.ndarray, *, period: Optional[float] = None) -> tuple[np.ndarray, float]:
    """The photo with its light flattened, and the strength removed (std of the log light field).

    Returns ``(H, W, 3)`` float32 in [0, 1] and a float (0.1 ≈ ±10 % light variation removed).
    """
    light = illumination(rgb, period=period)
    out = rgb / light[..., None]
    return np.clip(out, 0.0, 1.0).astype(np.float32), float(np.log(light).std())


def relight(photo: np.ndarray, synth: np.ndarray, *, valid: np.ndarray, sigma: float,
            fallback: np.ndarray) -> np.ndarray:
    """Light field ``(H, W)`` from a photo ``(H, W, 3)`` of a repeating fabric and the repeat laid back over it
    (``synth``, under even light): their luminance ratio, smoothed at ``sigma`` px by normalised convolution over
    the trusted pixels (not clipped, not near-black). Far finer than a smoothing that must average the pattern away,
    so a soft shadow's edge is followed; ``fallback`` (the previous estimate) fills where nothing is trusted."""
    ls = luminance(synth)
    w = (valid & (ls > 0.04)).astype(np.float32)
    ratio = np.where(w > 0, luminance(photo) / np.maximum(ls, 1e-3), 0.0).astype(np.float32)
    num = smooth(ratio * w, sigma)
    den = smooth(w, sigma)
    light = np.maximum(np.where(den > 0.2, num / np.maximum(den, 1e-3), fallback), 1e-3)
    return (light / light.mean()).astype(np.float32)  # the photo's average exposure is kept


def keep_highlights(photo: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """When the photo clipped its highlights (≥ 15 % of pixels at white: white cloth), the fabric's brightest colour was at least
    that bright: scale the flattened photo up (never down, at most 1.25×) so its highlight level (a luminance
    percentile of the brightest channel, inside the clipped share) is the photo's again, instead of leaving white cloth grey. Unclipped photos are returned as they
    are (their exposure is kept)."""
    lp, lf = photo.max(axis=-1), flat.max(axis=-1)  # the brightest channel: what clips
    clipped = float((photo.max(axis=-1) >= 0.98).mean())
    if clipped < 0.15:  # a few clipped pixels (a bright stripe in the brightest corner) prove nothing
        return flat
    q = 100.0 * (1.0 - 0.5 * clipped)  # a level inside the clipped population of the photo
    gain = float(np.clip(np.percentile(lp, q) / max(np.percentile(lf, q), 1e-3), 1.0, 1.25))
    return np.clip(flat * gain, 0.0, 1.0).astype(np.float32)
