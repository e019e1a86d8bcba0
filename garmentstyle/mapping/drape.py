"""Drape: the sketch's own shading and fold lines move the pattern (the displace-with-shading workflow).

The darkness of the sketch inside the region, blurred to the width of a fold, is read as depth ``h`` (a fold line or
a shadow = cloth turned away). The pattern coordinates are displaced in image space by
``δ = −a_c·∇h − a_b·h·ŵ`` (ŵ = the warp direction): the first term compresses the pattern where the cloth turns
away (the mapping's Jacobian grows where ``h`` peaks), the second pulls the weft-wise lines of a check along the warp
into the fold, so they bend there. Both scale with ``drape`` (0 = off). The displacement is capped so the mapping
never folds over (Jacobian determinant stays ≥ ``MIN_DET``): no tearing, whatever the shading.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Smallest Jacobian determinant of the displaced mapping (relative); stronger displacements are scaled down.
MIN_DET = 0.35
#: Fold width as a fraction of the region's size (σ of the depth blur).
FOLD_WIDTH = 0.012


@dataclass(frozen=True)
class Displacement:
    """Attributes: dx, dy ``(h, w)`` image-space displacement in output px at the grid's cell centres; capped: the
    factor (≤ 1) the requested strength was scaled by to keep the mapping from folding over."""

    dx: np.ndarray
    dy: np.ndarray
    capped: float


def depth(ink: np.ndarray, region: np.ndarray, *, sigma: float) -> np.ndarray:
    """``(h, w)`` depth in [0, 1] from ``ink`` (darkness 0…1 on the grid) inside ``region`` (bool), blurred by
    ``sigma`` cells with a normalised convolution (the outside does not leak in)."""
    r = region.astype(np.float64)
    num = ndimage.gaussian_filter(np.where(region, ink, 0.0), sigma, mode="constant")
    den = ndimage.gaussian_filter(r, sigma, mode="constant")
    h = np.where(den > 1e-3, num / np.maximum(den, 1e-3), 0.0) * r
    top = float(np.percentile(h[region], 99)) if region.any() else 0.0
    return np.clip(h / max(top, 0.05), 0.0, 1.0)


def displacement(ink: np.ndarray, region: np.ndarray, theta: np.ndarray, *, strength: float, cell: float,
                 size: float) -> Displacement:
    """The drape displacement on a grid.

    Args:
        ink: ``(h, w)`` sketch darkness in [0, 1] (outline excluded by the caller) on the grid.
        region: ``(h, w)`` bool.
        theta: ``(h, w)`` warp line angle (radians).
        strength: the region's ``drape`` (0 = none; 1 = strong).
        cell: output px per cell; size: the region's size in output px (fold width scales with it).
    """
    zero = np.zeros_like(ink, dtype=np.float64)
    if strength <= 0 or not region.any():
        return Displacement(zero, zero, 1.0)
    sigma_px = max(2.0, FOLD_WIDTH * size)
    sig = max(1.0, sigma_px / cell)
    h = depth(ink, region, sigma=sig)
    hy, hx = np.gradient(h, cell)
    a_c = strength * 0.6 * sigma_px ** 2
    a_b = strength * 0.8 * sigma_px
    dx = -a_c * hx - a_b * h * np.cos(theta)
    dy = -a_c * hy - a_b * h * np.sin(theta)
    dxy, dxx = np.gradient(dx, cell)
    dyy, dyx = np.gradient(dy, cell)
    det = (1 + dxx) * (1 + dyy) - dxy * dyx
    capped = 1.0
    worst = float(det[region].min()) if region.any() else 1.0
    if worst < MIN_DET:  # det(I + tG) is ≥ MIN_DET at t where the linear estimate says so (a conservative scale)
        capped = float(np.clip((1 - MIN_DET) / max(1e-6, 1 - worst), 0.0, 1.0))
        dx, dy = dx * capped, dy * capped
    return Displacement(dx, dy, capped)
