"""The grain field: which way the fabric's warp runs at every point of a region.

Sparse evidence (pixels of grain strokes, or of the region's interior seam and fold lines, each with a line axis and
a weight) is spread over the whole grid by a harmonic (Laplacian) interpolation of the *doubled angle*, with a weak
pull towards the straight grain far from any evidence. Interpolating ``exp(2iθ)`` makes 0° and 180° one direction;
where the evidence contradicts itself (strokes crossing at right angles) the interpolant shrinks towards 0 there and
the straight grain fills in — a sensible field, never a NaN.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.linalg import splu

from .orient import axis_difference, orientation

#: Data weight of an evidence pixel relative to the smoothness term (large: strokes are followed closely).
DATA_WEIGHT = 10.0


@dataclass(frozen=True)
class Evidence:
    """Line evidence on a grid. Attributes: axis ``(h, w)`` complex unit ``exp(2iθ)``; weight ``(h, w)`` ≥ 0
    (0 = no evidence here)."""

    axis: np.ndarray
    weight: np.ndarray

    @property
    def amount(self) -> float:
        """Total evidence (≈ cells of clean line)."""
        return float(self.weight.sum())

    def pooled(self, factor: int) -> "Evidence":
        """Evidence on a grid with ``factor``× larger cells (weighted doubled-angle mean per cell)."""
        if factor == 1:
            return self
        h, w = self.weight.shape
        H, W = -(-h // factor) * factor, -(-w // factor) * factor

        def pool(a: np.ndarray) -> np.ndarray:
            big = np.zeros((H, W), dtype=a.dtype)
            big[:h, :w] = a
            return big.reshape(H // factor, factor, W // factor, factor).sum(axis=(1, 3))

        wsum = pool(self.weight)
        zsum = pool(self.axis * self.weight)
        agree = np.where(wsum > 0, np.abs(zsum) / np.maximum(wsum, 1e-12), 0.0)
        axis = np.where(np.abs(zsum) > 1e-12, zsum / np.maximum(np.abs(zsum), 1e-12), 1.0 + 0j)
        return Evidence(axis=axis, weight=wsum / factor ** 2 * agree)


def laplacian(shape: tuple[int, int]) -> sp.csc_matrix:
    """The 4-neighbour graph Laplacian ``(h·w, h·w)`` of a rectangular grid (Neumann boundary)."""
    h, w = shape

    def diff(n: int) -> sp.csr_matrix:
        return sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n))

    dx = sp.kron(sp.identity(h), diff(w))
    dy = sp.kron(diff(h), sp.identity(w))
    return (dx.T @ dx + dy.T @ dy).tocsc()


def interpolate(evidence: Evidence, prior: complex, *, decay: float) -> tuple[np.ndarray, np.ndarray]:
    """Spread ``evidence`` over its grid.

    Minimises Σ|∇z|² + DATA_WEIGHT·Σ w|z − z₀|² + Σ|z − prior|²/decay² over the doubled-angle field ``z``.

    Args:
        evidence: on an ``(h, w)`` grid.
        prior: ``exp(2iθ)`` of the straight grain (where the evidence says nothing, the field relaxes to it over
            ~``decay`` cells).
        decay: cells.

    Returns:
        ``(axis, confidence)``: ``(h, w)`` complex unit field and ``(h, w)`` |z| in [0, 1] before normalising
        (low where evidence cancels or is far away).
    """
    h, w = evidence.weight.shape
    mu = 1.0 / max(decay, 1.0) ** 2
    wt = DATA_WEIGHT * evidence.weight.ravel()
    A = laplacian((h, w)) + sp.diags(wt + mu)
    rhs = wt * evidence.axis.ravel() + mu * prior
    lu = splu(A.tocsc())
    z = (lu.solve(np.ascontiguousarray(rhs.real)) + 1j * lu.solve(np.ascontiguousarray(rhs.imag))).reshape(h, w)
    conf = np.clip(np.abs(z), 0.0, 1.0)
    z = z + 1e-3 * prior  # a cancelled spot takes the straight grain instead of an arbitrary angle
    return z / np.maximum(np.abs(z), 1e-12), conf


def stroke_evidence(strokes: np.ndarray, region: np.ndarray, *, band: float) -> tuple[Evidence, str | None]:
    """Evidence from grain strokes drawn over a region.

    Args:
        strokes: ``(h, w)`` in [0, 1], stroke presence on the analysis grid.
        region: ``(h, w)`` bool, the region on the same grid.
        band: cells; strokes this close outside the region still count (a stroke drawn a little off the edge).

    Returns:
        (evidence, problem): problem is None, or a sentence saying why the strokes give no direction.
    """
    near = ndimage.binary_dilation(region, iterations=max(1, int(round(band))))
    s = np.where(near, strokes, 0.0)
    if s.max(initial=0.0) < 0.5:
        return Evidence(np.ones_like(s, dtype=complex), np.zeros_like(s)), "no grain stroke lies on the region"
    ori = orientation(s, sigma=1.0, rho=1.5)
    weight = np.where(s >= 0.5, ori.coherence ** 2, 0.0)
    ev = Evidence(ori.axis, weight)
    if ev.amount < 3.0:
        return ev, "the grain strokes are too short to give a direction (a dot?); draw a line along the grain"
    return ev, None


def outline_width(ink: np.ndarray, region: np.ndarray) -> float:
    """Width in cells of the ink band along the inside of the region's edge (a thick outline the mask covers):
    the distance from the edge up to which most pixels are ink. 0 for a mask that stops at a thin line."""
    dist = ndimage.distance_transform_edt(region)
    inside = dist > 0
    if not inside.any():
        return 0.0
    d = np.floor(dist[inside]).astype(int)
    inky = ink[inside] > 0.5
    top = int(min(d.max(), 0.15 * max(region.shape)))
    width = 0
    for k in range(1, top + 1):
        at = d == k
        if at.sum() == 0 or inky[at].mean() < 0.5:
            break
        width = k
    return float(width)


def line_evidence(ink: np.ndarray, region: np.ndarray, *, reference: complex, max_deviation: float = 45.0,
                  rho: float = 2.0) -> Evidence:
    """Evidence from the seam and fold lines *inside* a region (its outline left out).

    Args:
        ink: ``(h, w)`` in [0, 1], darkness of the sketch (1 = black line) on the analysis grid.
        region: ``(h, w)`` bool.
        reference: ``exp(2iθ)`` of the garment's length direction; lines more than ``max_deviation`` degrees off it
            (hems, waist seams, pocket openings, folds across) say nothing about the grain and are ignored.
        rho: integration scale of the structure tensor, cells.
    """
    margin = outline_width(ink, region) + 2 * rho + 1
    interior = ndimage.distance_transform_edt(region) > margin
    ori = orientation(np.where(ndimage.binary_dilation(region, iterations=2), ink, 0.0), sigma=1.0, rho=rho)
    along = axis_difference(ori.axis, reference) <= max_deviation
    lines = interior & along & (ink > 0.2)
    weight = np.where(lines, np.clip(ink, 0, 1) * ori.coherence ** 2, 0.0)
    return Evidence(ori.axis, weight)


def oriented(axis: np.ndarray, *, towards: float) -> np.ndarray:
    """Line angles ``(h, w)`` (radians) for the axis field ``axis`` ``(h, w)`` complex, with the *sign* of each
    direction chosen so neighbours agree (down the middle column, then out along every row: an axis field has no
    sign, a parameterisation needs one), then the whole field flipped to point along ``towards`` (a line angle) on
    average. A horizontal grain is as good as a vertical one; only around a defect (strokes crossing) can a sign
    seam remain.
    """
    h, w = axis.shape
    half = 0.5 * np.angle(axis)
    c, s = np.cos(half), np.sin(half)
    mid = w // 2

    def agree(c0, s0, c1, s1):
        return np.where(c0 * c1 + s0 * s1 >= 0, 1, -1).astype(np.int8)

    col = np.cumprod(np.concatenate([[1], agree(c[:-1, mid], s[:-1, mid], c[1:, mid], s[1:, mid])]))
    right = np.cumprod(agree(c[:, mid:-1], s[:, mid:-1], c[:, mid + 1:], s[:, mid + 1:]), axis=1)
    left = np.cumprod(agree(c[:, mid:0:-1], s[:, mid:0:-1], c[:, mid - 1::-1], s[:, mid - 1::-1]), axis=1)
    sign = np.ones((h, w), np.int8)
    sign[:, mid + 1:] = right
    sign[:, :mid] = left[:, ::-1]
    sign = sign * col[:, None].astype(np.int8)
    theta = np.where(sign > 0, half, half + np.pi)
    mean = np.array([np.cos(theta).sum(), np.sin(theta).sum()])
    if float(mean @ np.array([np.cos(towards), np.sin(towards)])) < 0:
        theta = theta + np.pi
    return theta
