"""The paper's illumination: estimate it and divide it out (vignette, shadow, warm cast, cream or grey paper → white).

A scan or phone photo of a drawing is ``paper(x) × drawing(x)``: the paper term varies slowly (fall-off, a shadow,
a colour cast) while lines are thin and fills are local. The estimate is the **upper envelope** of each channel
(a max filter removes the lines), combined with a **robust smooth surface** (a low-order polynomial fitted only to
pixels that are not darker than it) wherever the envelope dips into a marker fill or a large dark area — a fill
would otherwise be taken for shadow and bleached to white.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from .. import morph

#: Long side (px) of the thumbnail the illumination is estimated on.
EST_SIDE: int = 256
#: Polynomial degree of the smooth surface.
DEGREE: int = 4


def _design(h: int, w: int, ys: np.ndarray, xs: np.ndarray, degree: int = DEGREE) -> np.ndarray:
    u = xs / max(w - 1, 1) * 2.0 - 1.0
    v = ys / max(h - 1, 1) * 2.0 - 1.0
    cols = [u**i * v**j for i in range(degree + 1) for j in range(degree + 1 - i)]
    return np.stack(cols, 1).astype(np.float64)


def robust_surface(values: np.ndarray, valid: np.ndarray, *, iterations: int = 5) -> np.ndarray:
    """A smooth polynomial surface ``(h, w)`` through the bright side of ``values`` (darker outliers rejected).

    Args:
        values: ``(h, w)`` float; valid: ``(h, w)`` bool, the pixels allowed to vote (the sheet).
    """
    h, w = values.shape
    ys, xs = np.nonzero(valid)
    if len(ys) < 30:
        return np.full((h, w), float(np.median(values)), np.float32)
    step = max(1, len(ys) // 4000)
    ys, xs = ys[::step], xs[::step]
    a = _design(h, w, ys.astype(np.float64), xs.astype(np.float64))
    y = values[ys, xs].astype(np.float64)
    keep = np.ones(len(y), bool)
    coef = np.zeros(a.shape[1])
    for _ in range(iterations):
        ak = a[keep]
        coef = np.linalg.solve(ak.T @ ak + 1e-6 * np.eye(a.shape[1]), ak.T @ y[keep])
        r = y - a @ coef
        mad = 1.4826 * float(np.median(np.abs(r[keep] - np.median(r[keep])))) + 1e-4
        keep = r > -max(0.02, 2.5 * mad)
        if keep.sum() < a.shape[1] * 3:
            break
    gy, gx = np.mgrid[0:h, 0:w]
    full = _design(h, w, gy.ravel().astype(np.float64), gx.ravel().astype(np.float64)) @ coef
    return full.reshape(h, w).astype(np.float32)


def paper_mask(env: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(h, w)`` bool: the bare paper on the (line-free) envelope: of the large areas free of sharp edges (≥ a
    quarter of the largest), the lightest. Fills (marker, wash, solid ink) meet the paper along sharp edges; light
    fall-off and shadows are soft. The lightest, not simply the largest: a dark marker can cover more of the
    sheet than the bare paper round it (it was taken for the paper, and the photo refused as "dark")."""
    gx = np.abs(cv2.Sobel(env, cv2.CV_32F, 1, 0, ksize=3)).max(-1) / 8.0
    gy = np.abs(cv2.Sobel(env, cv2.CV_32F, 0, 1, ksize=3)).max(-1) / 8.0
    edges = cv2.dilate((np.maximum(gx, gy) > 0.02).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    smooth = valid & ~edges
    n, lab, st, _ = cv2.connectedComponentsWithStats(smooth.astype(np.uint8), connectivity=4)
    if n <= 1:
        return valid.copy()
    area = st[1:, cv2.CC_STAT_AREA]
    big = np.flatnonzero(area >= 0.25 * area.max()) + 1
    if len(big) == 1:
        return lab == int(big[0])
    lum = env.mean(-1)
    level = [float(np.median(lum[lab == i])) for i in big]
    return lab == int(big[int(np.argmax(level))])


def _level_matches(env: np.ndarray, surf: np.ndarray, cand: np.ndarray, tol: float = 0.035) -> np.ndarray:
    """Connected pieces of ``cand`` whose median colour is the paper's (within ``tol`` in every channel)."""
    n, lab = cv2.connectedComponents(cand.astype(np.uint8), connectivity=4)
    out = np.zeros(cand.shape, bool)
    if n <= 1:
        return out
    diff = np.abs(env - surf).max(-1)
    idx = lab.ravel()
    cnt = np.bincount(idx, minlength=n)
    # Mean as a cheap stand-in for the median (the pieces are small and smooth).
    mean = np.bincount(idx, weights=diff.ravel(), minlength=n) / np.maximum(cnt, 1)
    ok = (mean < tol) & (cnt >= 4)
    ok[0] = False
    return ok[lab]


def estimate_paper(rgb: np.ndarray, page: Optional[np.ndarray] = None) -> np.ndarray:
    """The paper's colour under the scene's light, ``(h, w, 3)`` float32 in (0, 1], same size as ``rgb``.

    Args:
        rgb: ``(h, w, 3)`` float32 in [0, 1], the working copy.
        page: ``(h, w)`` bool, the sheet (pixels outside do not vote); None: everything.
    """
    h, w = rgb.shape[:2]
    s = min(1.0, EST_SIDE / float(max(h, w)))
    th, tw = max(8, int(round(h * s))), max(8, int(round(w * s)))
    small = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)
    valid = np.ones((th, tw), bool) if page is None else cv2.resize(
        page.astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST).astype(bool)
    k = max(3, int(round(0.02 * max(th, tw))) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    env = np.empty_like(small)
    for c in range(3):
        env[..., c] = cv2.erode(cv2.dilate(small[..., c], kernel), kernel)  # a closing: lines gone
    paper = paper_mask(env, valid)
    surf = np.empty_like(small)
    for c in range(3):
        surf[..., c] = robust_surface(env[..., c], paper)
    # Smooth areas at the paper's level (inside a garment, between fills) are paper too.
    paper = paper | _level_matches(env, surf, valid & ~paper)
    # On the paper: its own (blurred) envelope, averaged over paper pixels only; elsewhere (fills): the surface.
    pf = paper.astype(np.float32)
    sig = k / 2.0
    den = cv2.GaussianBlur(pf, (0, 0), sig)[..., None]
    env_s = cv2.GaussianBlur(env * pf[..., None], (0, 0), sig) / np.maximum(den, 1e-3)
    wgt = np.clip(den * 1.5, 0.0, 1.0)
    out = wgt * env_s + (1.0 - wgt) * surf
    if page is not None:
        out = np.where(valid[..., None], out, surf)
    out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.05, 1.0).astype(np.float32)


def flatten(rgb: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """``rgb / paper`` clipped to [0, 1]: the drawing on white paper (``(h, w, 3)`` float32)."""
    return np.clip(rgb / paper, 0.0, 1.0).astype(np.float32)


def paper_is_white(rgb: np.ndarray, level: float = 0.97) -> bool:
    """Whether the bare paper (the largest area free of sharp edges, lines closed away) is already white in every
    channel: digital line art, or a scan that needs no flattening. Shading and fills inside the drawing do not
    count."""
    h, w = rgb.shape[:2]
    s = min(1.0, EST_SIDE / float(max(h, w)))
    th, tw = max(8, int(round(h * s))), max(8, int(round(w * s)))
    small = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)
    k = max(3, int(round(0.02 * max(th, tw))) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    env = np.stack([cv2.erode(cv2.dilate(small[..., c], kernel), kernel) for c in range(3)], -1)
    # The paper round the drawing: the edge-free area holding most of the image's border.
    gx = np.abs(cv2.Sobel(env, cv2.CV_32F, 1, 0, ksize=3)).max(-1) / 8.0
    gy = np.abs(cv2.Sobel(env, cv2.CV_32F, 0, 1, ksize=3)).max(-1) / 8.0
    smooth = ~cv2.dilate((np.maximum(gx, gy) > 0.02).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    n, lab = cv2.connectedComponents(smooth.astype(np.uint8), connectivity=4)
    if n <= 1:
        return False
    edge = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    counts = np.bincount(edge, minlength=n)
    counts[0] = 0
    if counts.max() == 0:
        return False
    paper = lab == int(np.argmax(counts))
    # Judged where it is surely paper: the part of that area in a band along the image's border. Soft shading
    # inside a drawing has no sharp edge once the lines are closed away, so it joins this area; on digital line
    # art (white margins) it must not make the paper look grey, while a photo's vignette, shadow or cast reaches
    # the border and still counts.
    b = max(2, int(round(0.08 * min(th, tw))))
    band = np.zeros_like(paper)
    band[:b], band[-b:], band[:, :b], band[:, -b:] = True, True, True, True
    # Inside a closed outline is the drawing, not paper, even where it reaches the band (trousers down to the hem).
    ink = cv2.dilate((small.min(-1) < 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    judged = paper & band & ~morph.fill_holes(ink)
    if not judged.any():
        judged = paper
    return float(np.percentile(env[judged].min(-1), 2)) >= level
