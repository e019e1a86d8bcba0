"""The texture parameterisation: pattern coordinates ``(U, V)`` whose gradient follows the grain field.

On a straight grain at rotation r the swatch is laid by ``U = (cos r, −sin r)·p``, ``V = (sin r, cos r)·p`` (``p`` in
output pixels; :func:`garmentstyle.swatch.tile`). For a curved field the wanted gradients — ∇V along the warp, ∇U
across it, both of length 1 (the pattern keeps its scale) — are not the gradient of any function once the field
turns, so ``U`` and ``V`` are their least-squares fit (a Poisson problem, solved once with a sparse LU for both):
the pattern follows the field and stretches only as much as the field's curvature forces. One continuous ``U, V``
per region: no tearing. A tiny pull towards the straight-grain coordinates fixes the free constant (and leaves a
straight field exactly the plain tiling).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

#: Weight of the cells outside the region in the fit (they only need to be continuous with the inside).
OUTSIDE_WEIGHT = 0.05
#: Pull towards the straight-grain coordinates (fixes the constant; small enough not to bend anything).
ANCHOR = 1e-6
#: Weight of "the pattern keeps its size" against "the stripes keep their direction" (1).
SIZE_WEIGHT = 0.05
#: Weight of the plain isotropic fit (only there to rule out a checkerboard mode the quad gradient cannot see).
ISO_WEIGHT = 0.01


def warp_angle(rotation: float) -> float:
    """The warp's line angle θ (radians, image coordinates) of a straight grain at ``rotation`` degrees CCW."""
    return float(np.pi / 2 - np.radians(rotation))


def gradients(theta: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Wanted ``(∇U, ∇V)`` per point, each ``(..., 2)`` as (x, y) components, for warp line angle(s) ``theta``."""
    t = np.asarray(theta, dtype=np.float64)
    return np.stack([np.sin(t), -np.cos(t)], -1), np.stack([np.cos(t), np.sin(t)], -1)


def straight_coordinates(X: np.ndarray, Y: np.ndarray, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """``(U, V)`` of the plain tiling at warp angle ``theta`` at output points ``(X, Y)`` (absolute, output px)."""
    gu, gv = gradients(theta)
    return gu[0] * X + gu[1] * Y, gv[0] * X + gv[1] * Y


@dataclass(frozen=True)
class Fit:
    """Attributes: U, V ``(h, w)`` pattern coordinates (output px) at the grid's cell centres; stretch: median and
    95th percentile over the region of the larger singular value of the mapping's Jacobian over the smaller (1 = no
    stretch or shear); scale: median √det J (1 = the nominal pattern size)."""

    U: np.ndarray
    V: np.ndarray
    stretch: tuple[float, float]
    scale: float


def _operators(shape: tuple[int, int], cell: float) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """``(Gx, Gy, D)``: the gradient at the centre of every 2×2 quad of cells ``(quads, n)`` (x and y parts, per
    output px), and the plain edge differences ``(edges, n)`` (which also rule out a checkerboard, that quads miss)."""
    h, w = shape
    n = h * w
    idx = np.arange(n).reshape(h, w)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    q = np.arange(a.size)
    rows = np.concatenate([q] * 4)
    cols = np.concatenate([a, b, c, d])
    half = 0.5 / cell
    Gx = sp.csr_matrix((np.concatenate([-np.full(q.size, half), np.full(q.size, half), -np.full(q.size, half),
                                        np.full(q.size, half)]), (rows, cols)), shape=(q.size, n))
    Gy = sp.csr_matrix((np.concatenate([-np.full(q.size, half), -np.full(q.size, half), np.full(q.size, half),
                                        np.full(q.size, half)]), (rows, cols)), shape=(q.size, n))
    ex = (idx[:, :-1].ravel(), idx[:, 1:].ravel())
    ey = (idx[:-1, :].ravel(), idx[1:, :].ravel())
    src = np.concatenate([ex[0], ey[0]])
    dst = np.concatenate([ex[1], ey[1]])
    e = np.arange(src.size)
    D = sp.csr_matrix((np.concatenate([-np.ones(e.size), np.ones(e.size)]) / cell,
                       (np.concatenate([e, e]), np.concatenate([src, dst]))), shape=(e.size, n))
    return Gx, Gy, D


def _quad_mean(a: np.ndarray) -> np.ndarray:
    return 0.25 * (a[:-1, :-1] + a[:-1, 1:] + a[1:, :-1] + a[1:, 1:]).ravel()


def _edge_mean(a: np.ndarray) -> np.ndarray:
    return np.concatenate([0.5 * (a[:, :-1] + a[:, 1:]).ravel(), 0.5 * (a[:-1, :] + a[1:, :]).ravel()])


def solve(theta: np.ndarray, inside: np.ndarray, *, cell: float, X: np.ndarray, Y: np.ndarray,
          reference: float, confidence: np.ndarray | None = None) -> Fit:
    """Fit ``(U, V)`` to the warp field ``theta``.

    Direction first, size second: for ``U`` (constant along the warp: the stripes that run with the grain) the
    wanted ``ŵ·∇U = 0`` is weighted ``1`` and ``ŵ⊥·∇U = 1`` only ``SIZE_WEIGHT``; for ``V`` the roles swap. So on a
    fan the stripes follow the seams exactly and their spacing widens as the fan does (the stretch the field
    demands), instead of tilting to keep the spacing.

    Args:
        theta: ``(h, w)`` warp line angle per cell (radians), in one consistent branch (no jumps of π).
        inside: ``(h, w)`` bool, cells of the region (the fit is weighted to them).
        cell: output px per cell.
        X, Y: ``(h, w)`` output coordinates of the cell centres.
        reference: the straight warp angle whose coordinates anchor the constant.
        confidence: ``(h, w)`` in [0, 1], how sure the field is of its direction (low where strokes cross): the
            direction term is weighted by it, so a defect in the field is laid isotropically instead of smeared.
    """
    h, w = theta.shape
    n = h * w
    Gx, Gy, D = _operators((h, w), cell)
    wq = _quad_mean(np.where(inside, 1.0, OUTSIDE_WEIGHT))
    we = _edge_mean(np.where(inside, 1.0, OUTSIDE_WEIGHT)) * ISO_WEIGHT
    c, s = np.cos(theta), np.sin(theta)
    cq, sq = _quad_mean(c), _quad_mean(s)
    nq = np.maximum(np.hypot(cq, sq), 1e-9)
    cq, sq = cq / nq, sq / nq
    along = sp.diags(cq) @ Gx + sp.diags(sq) @ Gy      # ŵ·∇
    across = sp.diags(sq) @ Gx - sp.diags(cq) @ Gy     # ŵ⊥·∇ with ŵ⊥ = (sin θ, −cos θ): the direction of ∇U
    gu, gv = gradients(theta)
    ex = np.concatenate([np.ones((h, w - 1)).ravel(), np.zeros((h - 1, w)).ravel()])  # 1 on x-edges
    U0, V0 = straight_coordinates(X, Y, reference)
    sure = np.ones_like(theta) if confidence is None else np.clip(confidence / 0.6, 0.0, 1.0) ** 2
    wd = wq * np.maximum(_quad_mean(sure), 0.02)
    out = []
    for zero_op, one_op, g, base in ((along, across, gu, U0), (across, along, gv, V0)):
        Wz, Wo = sp.diags(wd), sp.diags(wq * SIZE_WEIGHT)
        target_edges = np.where(ex > 0, _edge_mean(g[..., 0]), _edge_mean(g[..., 1]))
        We = sp.diags(we)
        A = zero_op.T @ Wz @ zero_op + one_op.T @ Wo @ one_op + D.T @ We @ D + ANCHOR * sp.identity(n)
        rhs = one_op.T @ (Wo @ np.ones(one_op.shape[0])) + D.T @ (We @ target_edges) + ANCHOR * base.ravel()
        out.append(splu(A.tocsc()).solve(rhs).reshape(h, w))
    U, V = out
    return Fit(U=U, V=V, **_distortion(U, V, inside, cell))


def _distortion(U: np.ndarray, V: np.ndarray, inside: np.ndarray, cell: float) -> dict:
    """Stretch and scale statistics of the fitted mapping over the region's cells."""
    uy, ux = np.gradient(U, cell)
    vy, vx = np.gradient(V, cell)
    J = np.stack([np.stack([ux, uy], -1), np.stack([vx, vy], -1)], -2)[inside]  # (n, 2, 2)
    if J.shape[0] == 0:
        return {"stretch": (1.0, 1.0), "scale": 1.0}
    s = np.linalg.svd(J, compute_uv=False)
    ratio = s[:, 0] / np.maximum(s[:, 1], 1e-9)
    return {"stretch": (float(np.median(ratio)), float(np.percentile(ratio, 95))),
            "scale": float(np.median(np.sqrt(np.abs(s[:, 0] * s[:, 1]))))}
