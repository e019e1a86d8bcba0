"""Synthetic garments with a known grain, for the tests and the benchmark (drawn by code, nothing copied).

- :func:`flared_skirt`: a gored skirt whose panel seams radiate from a point above the waist; the grain at a seam
  is the seam's own direction.
- :func:`curved_sleeve`: a sleeve bent through ~70° (a band between two concentric arcs) and two grain strokes along
  it; the grain is the arcs' tangent.
- :func:`stripes`: a vertical-stripe swatch (the stripes run along the warp), and :func:`stripe_axis`, the measured
  direction of the stripes of a fabric (structure tensor), to compare with the known grain.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .orient import axis_of_angle, orientation


@dataclass(frozen=True)
class Synthetic:
    """Attributes: sketch ``(H, W)`` float in [0, 1]; mask ``(H, W)`` float {0, 1}; grain ``(H, W)`` complex
    ``exp(2iθ)`` of the true warp direction; measure ``(H, W)`` bool, where to compare (inside, near the evidence);
    strokes ``(H, W, 3)`` uint8 (white background) or None."""

    sketch: np.ndarray
    mask: np.ndarray
    grain: np.ndarray
    measure: np.ndarray
    strokes: np.ndarray | None = None


def _outline(mask: np.ndarray, width: int) -> np.ndarray:
    img = np.full(mask.shape, 255, np.uint8)
    cnts, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, cnts, -1, 0, width)
    return img


def flared_skirt(size: int = 400, *, seams: tuple[float, ...] = (-24.0, -12.0, 0.0, 12.0, 24.0), flare: float = 31.0,
                 line: int = 2) -> Synthetic:
    """A flared skirt ``size`` px square; seams at these angles (degrees from vertical); sides at ±``flare``.
    ``measure`` = 4…16 px beside a seam; ``grain`` there = that seam's direction."""
    H = W = size
    apex = (size / 2, -0.75 * size)
    yy, xx = np.mgrid[0:H, 0:W] + 0.5
    ang = np.arctan2(xx - apex[0], yy - apex[1])
    r = np.hypot(xx - apex[0], yy - apex[1])
    r0, r1 = 0.9 * size, 1.7 * size
    mask = (r > r0) & (r < r1) & (np.abs(ang) < math.radians(flare))
    img = _outline(mask, 3)
    seam_px = np.zeros((H, W), np.uint8)
    for a in seams:
        t = math.radians(a)
        p0 = (int(round(apex[0] + (r0 + 2) * math.sin(t))), int(round(apex[1] + (r0 + 2) * math.cos(t))))
        p1 = (int(round(apex[0] + (r1 - 2) * math.sin(t))), int(round(apex[1] + (r1 - 2) * math.cos(t))))
        cv2.line(img, p0, p1, 0, line, cv2.LINE_AA)
        cv2.line(seam_px, p0, p1, 1, 1)
    from scipy import ndimage

    dist, (iy, ix) = ndimage.distance_transform_edt(seam_px == 0, return_indices=True)
    seam_angle = np.arctan2(xx[iy, ix] - apex[0], yy[iy, ix] - apex[1])  # angle (from vertical) of the nearest seam
    grain = axis_of_angle(math.pi / 2 - seam_angle)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    measure = (dist >= 4) & (dist <= 16) & inner
    return Synthetic(img.astype(np.float32) / 255, mask.astype(np.float32), grain, measure)


def curved_sleeve(size: tuple[int, int] = (360, 420), *, arc: tuple[float, float] = (5.0, 75.0)) -> Synthetic:
    """A sleeve bent along ``arc`` (polar degrees about a point near the top-left) and two red grain strokes along
    it. ``grain`` = the arcs' tangent; ``measure`` = the sleeve's inside."""
    H, W = size
    C = (0.15 * W, 0.1 * H)
    yy, xx = np.mgrid[0:H, 0:W] + 0.5
    r = np.hypot(xx - C[0], yy - C[1])
    a = np.arctan2(yy - C[1], xx - C[0])
    r0, r1 = 0.47 * H, 0.75 * H
    mask = (r > r0) & (r < r1) & (a > math.radians(arc[0])) & (a < math.radians(arc[1]))
    img = _outline(mask, 3)
    strokes = np.full((H, W, 3), 255, np.uint8)
    for frac in (0.25, 0.75):
        rad = r0 + frac * (r1 - r0)
        ts = np.radians(np.linspace(arc[0] + 7, arc[1] - 7, 40))
        pts = np.array([(int(C[0] + rad * math.cos(t)), int(C[1] + rad * math.sin(t))) for t in ts])
        cv2.polylines(strokes, [pts], False, (0, 0, 255), 4)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    return Synthetic(img.astype(np.float32) / 255, mask.astype(np.float32), axis_of_angle(a + math.pi / 2), inner,
                     strokes)


def stripes(period: int = 24, dark: int = 8) -> torch.Tensor:
    """``(1, 3, period, period)`` swatch: dark vertical stripes (along the warp) on white."""
    s = torch.ones(1, 3, period, period)
    s[..., :, :dark] = 0.1
    return s


def stripe_axis(fabric: torch.Tensor, *, period: int = 24) -> np.ndarray:
    """``(H, W)`` complex ``exp(2iθ)`` of the stripes' direction in ``fabric`` ``(1, 3, H, W)``."""
    lum = fabric[0].mean(0).cpu().numpy()
    return orientation(lum, sigma=1.0, rho=period / 3).axis
