"""Flatten the light of a swatch photo: remove gradients, vignettes and soft shadows, keep the fabric.

Illumination is multiplicative and slow, the fabric's own structure is fast and repeats, so the light is estimated
on log-luminance as (a) a robust quadratic surface (the gradient and vignette, fitted over the whole photo, so there
is no edge bias) plus (b) the remainder smoothed at a scale of at least one lattice period (a soft shadow). A
Gaussian that wide removes the pattern's fundamental by a factor e^-20, so a check's big blocks are not taken for
light. The photo is divided by that estimate, the same factor on R, G and B: hue, saturation and the fabric's local
contrast stay as photographed. Pure functions on ``(H, W, 3)`` float32 arrays in [0, 1].

With no lattice there is no period to smooth beyond, and a print whose shapes are about as large as that smoothing
(a chevron with one or two repeats in the frame) has its black and white bands taken for light: the tile comes back
as grey gradients. :func:`flatten_unknown` checks that estimate against a second one that cannot see sharp edges
(:func:`soft_light`: only the photo's soft gradients, reintegrated, as in Horn's retinex) and keeps the second
when the first claims far more light than the soft gradients show.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .analyse import luminance, smooth, upsample

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


#: :func:`soft_light` works at this many px on the photo's shorter side (area averaged: noise and fine weave go).
SOFT_SHORT = 128
#: A log-luminance step above this per px at that size is an edge of the print, not light (light from a phone's
#: gradient, vignette or a soft shadow changes by < 0.02 per px there; a print's edge by 0.3–2).
SOFT_EDGE = 0.06
#: Where gradients are unknown (edges, black or clipped areas) they are filled from their neighbours at this sigma
#: (px at SOFT_SHORT), and the reintegrated field is smoothed at SOFT_SIGMA.
SOFT_FILL, SOFT_SIGMA = 8.0, 11.5
#: The usual estimate is replaced when its strength exceeds the soft one's by both this factor and this margin (the
#: chevron at 1.2–1.8 repeats: 0.49–0.71 against 0.14; an extreme real light on the twill photo: 0.37 against 0.21).
SOFT_RATIO, SOFT_MARGIN = 2.5, 0.1


def _integrate(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """The field whose forward differences best match ``gx``, ``gy`` ``(h, w)`` (least squares; Neumann edges,
    solved exactly with a DCT). Mean 0."""
    from scipy.fft import dctn, idctn
    h, w = gx.shape
    div = np.zeros((h, w))
    div[:, :-1] += gx[:, :-1]
    div[:, 1:] -= gx[:, :-1]
    div[:-1, :] += gy[:-1, :]
    div[1:, :] -= gy[:-1, :]
    eig = (2 * np.cos(np.pi * np.arange(h) / h) - 2)[:, None] + (2 * np.cos(np.pi * np.arange(w) / w) - 2)[None, :]
    eig[0, 0] = 1.0
    u = dctn(div, norm="ortho") / eig
    u[0, 0] = 0.0
    return idctn(u, norm="ortho")


def _area(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    return F.interpolate(torch.from_numpy(np.ascontiguousarray(x, np.float64))[None, None], size=shape,
                         mode="area")[0, 0].numpy()


def soft_light(rgb: np.ndarray) -> np.ndarray:
    """Multiplicative light field ``(H, W)`` (mean of its log = 0) from the photo's soft gradients only.

    The log-luminance is averaged down to :data:`SOFT_SHORT` px; its gradients at the print's edges (steeper than
    :data:`SOFT_EDGE`) and where it says nothing about light (near-black, clipped) are unknown and filled from their
    neighbours; the rest are integrated back (least squares) and smoothed. A flat-coloured print's large shapes
    have sharp edges and drop out; light is soft and stays. Weaker than :func:`illumination` on densely textured
    cloth, where most gradients are steep: use it as a check, not alone."""
    from scipy import ndimage
    h, w = rgb.shape[:2]
    f = SOFT_SHORT / min(h, w)
    size = (max(16, round(h * f)), max(16, round(w * f)))
    lum = luminance(rgb).astype(np.float64)
    small = _area(np.log(np.maximum(lum, _EPS)), size)
    known = _area((lum > 0.06) & (rgb.max(axis=-1) < 0.97), size) > 0.99
    gx, gy = np.zeros(size), np.zeros(size)
    gx[:, :-1], gy[:-1, :] = np.diff(small, axis=1), np.diff(small, axis=0)
    kx, ky = known.copy(), known.copy()
    kx[:, :-1] &= known[:, 1:]
    ky[:-1, :] &= known[1:, :]
    keep = (kx & ky & (np.abs(gx) <= SOFT_EDGE) & (np.abs(gy) <= SOFT_EDGE)).astype(np.float64)
    den = ndimage.gaussian_filter(keep, SOFT_FILL) + 1e-6
    gx = np.where(keep > 0, gx, ndimage.gaussian_filter(gx * keep, SOFT_FILL) / den)
    gy = np.where(keep > 0, gy, ndimage.gaussian_filter(gy * keep, SOFT_FILL) / den)
    big = upsample(ndimage.gaussian_filter(_integrate(gx, gy), SOFT_SIGMA, mode="reflect"), (h, w))
    return np.exp(big - big.mean()).astype(np.float32)


def flatten_unknown(rgb: np.ndarray, *, usual: Optional[np.ndarray] = None) -> tuple[np.ndarray, float, bool]:
    """:func:`flatten` for a photo with no repeat lattice, checked by :func:`soft_light`.

    Args: ``usual``: :func:`illumination` of ``rgb`` (no period) when the caller has it already.
    Returns the flattened photo, the strength removed, and whether the soft estimate was used (the usual one
    claimed far more light than the soft gradients show: the print's own large shapes)."""
    light = illumination(rgb) if usual is None else usual
    soft = soft_light(rgb)
    s_usual, s_soft = float(np.log(light).std()), float(np.log(soft).std())
    use_soft = s_usual > SOFT_RATIO * s_soft and s_usual - s_soft > SOFT_MARGIN
    if use_soft:
        light = soft
    return divide(rgb, light), float(np.log(light).std()), use_soft


def divide(rgb: np.ndarray, light: np.ndarray) -> np.ndarray:
    """``rgb`` ``(H, W, 3)`` with the light field ``(H, W)`` divided out (the same factor on R, G and B), float32
    in [0, 1]."""
    return np.clip(rgb / light[..., None], 0.0, 1.0).astype(np.float32)


def flatten(rgb: np.ndarray, *, period: Optional[float] = None) -> tuple[np.ndarray, float]:
    """The photo with its light flattened, and the strength removed (std of the log light field).

    Returns ``(H, W, 3)`` float32 in [0, 1] and a float (0.1 ≈ ±10 % light variation removed).
    """
    light = illumination(rgb, period=period)
    return divide(rgb, light), float(np.log(light).std())


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
    """When the photo clipped its highlights (≥ 15 % of pixels at white: white cloth), the fabric's brightest colour
    was at least that bright: scale the flattened photo up (never down, at most 1.25×) so its highlight level (a
    luminance percentile of the brightest channel, inside the clipped share) is the photo's again, instead of leaving
    white cloth grey. Unclipped photos are returned as they are (their exposure is kept)."""
    lp, lf = photo.max(axis=-1), flat.max(axis=-1)  # the brightest channel: what clips
    clipped = float((photo.max(axis=-1) >= 0.98).mean())
    if clipped < 0.15:  # a few clipped pixels (a bright stripe in the brightest corner) prove nothing
        return flat
    q = 100.0 * (1.0 - 0.5 * clipped)  # a level inside the clipped population of the photo
    gain = float(np.clip(np.percentile(lp, q) / max(np.percentile(lf, q), 1e-3), 1.0, 1.25))
    return np.clip(flat * gain, 0.0, 1.0).astype(np.float32)
