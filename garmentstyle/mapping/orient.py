"""Local orientation of line-like structure: the structure tensor, in the doubled-angle representation.

An orientation is an *axis* (a line at 0° is the same line at 180°), so it is carried as the unit complex number
``exp(2iθ)``: averaging, smoothing and interpolating those vectors treats 0° and 180° as one direction, and two
perpendicular lines cancel instead of giving an arbitrary average. Angles are in image coordinates: radians from
the +x axis towards +y (down), so ``(cos θ, sin θ)`` is the direction of the line.

Used by the grain field (strokes and interior seams), by the drape, and by the tests and benchmarks that measure
which way the stripes of a render run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Orientation:
    """Per-pixel orientation of the lines in an image.

    Attributes:
        axis: ``(H, W)`` complex, ``exp(2iθ)`` of the *line* direction θ (along the line, not across it).
        coherence: ``(H, W)`` in [0, 1]: 1 = one clean orientation, 0 = none (flat area, dot, crossing).
        energy: ``(H, W)`` ≥ 0: the tensor's trace (how much edge there is at all).
    """

    axis: np.ndarray
    coherence: np.ndarray
    energy: np.ndarray

    @property
    def angle(self) -> np.ndarray:
        """``(H, W)`` line angle θ in (-π/2, π/2]."""
        return 0.5 * np.angle(self.axis)


def structure_tensor(image: np.ndarray, *, sigma: float = 1.0, rho: float = 3.0) -> tuple[np.ndarray, ...]:
    """``(Jxx, Jxy, Jyy)`` each ``(H, W)``: Gaussian-σ derivatives, products integrated over a Gaussian ρ.

    Args: image ``(H, W)`` float (any range); sigma: derivative scale in px; rho: integration scale in px.
    """
    img = np.asarray(image, dtype=np.float64)
    gx = ndimage.gaussian_filter(img, sigma, order=(0, 1), mode="nearest")
    gy = ndimage.gaussian_filter(img, sigma, order=(1, 0), mode="nearest")
    return tuple(ndimage.gaussian_filter(p, rho, mode="nearest") for p in (gx * gx, gx * gy, gy * gy))


def orientation(image: np.ndarray, *, sigma: float = 1.0, rho: float = 3.0) -> Orientation:
    """The line orientation of ``image`` ``(H, W)``: the direction of least change (perpendicular to the dominant
    gradient), its coherence and the edge energy. Never NaN: flat areas get coherence 0."""
    jxx, jxy, jyy = structure_tensor(image, sigma=sigma, rho=rho)
    grad_axis = (jxx - jyy) + 2j * jxy  # doubled angle of the dominant *gradient* direction, times its anisotropy
    energy = jxx + jyy
    mag = np.abs(grad_axis)
    tiny = 1e-12 + 1e-9 * float(energy.max(initial=0.0))
    coherence = np.where(energy > tiny, mag / np.maximum(energy, tiny), 0.0)
    axis = np.where(mag > tiny, -grad_axis / np.maximum(mag, tiny), 1.0 + 0j)  # lines run ⊥ to the gradient
    return Orientation(axis=axis, coherence=np.clip(coherence, 0.0, 1.0), energy=energy)


def axis_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees [0, 90] between two axis fields given as doubled-angle complex numbers (any magnitude)."""
    d = np.angle(np.asarray(a) * np.conj(np.asarray(b)))
    return np.degrees(np.abs(d) / 2.0)


def axis_of_angle(theta: np.ndarray | float) -> np.ndarray:
    """``exp(2iθ)`` for line angles θ in radians."""
    return np.exp(2j * np.asarray(theta, dtype=np.float64))
