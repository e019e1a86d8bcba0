"""Ink and colour on a flattened sketch: adaptive, stroke-width-aware line binarisation and flat colour fills.

Lines are what is **darker than its neighbourhood at the stroke's scale**: a grey closing with a window a few
stroke widths wide removes every dark structure narrower than the window, so ``closing - grey`` (a black top-hat)
is the line's darkness relative to the local paper (or to the marker fill it is drawn over). The threshold is set
by the paper's own noise (robust sigma), like Sauvola's local-contrast rule, with hysteresis: a faint pencil line
is kept where it connects to a clearly dark stretch, so light pencil survives while paper grain does not. Solid
achromatic ink (hair, a black lapel) is ink too.

Fills are areas **wider than strokes** that are clearly darker or more coloured than the paper (marker, ink wash):
their colours are clustered (k-means in Lab) into a few classes; each class is a region in its own right, and the
boundaries between classes act as lines for the partition.
"""
from __future__ import annotations

import cv2
import numpy as np


def robust_sigma(values: np.ndarray) -> float:
    """Robust standard deviation (1.4826 × MAD) of a 1-D sample."""
    if values.size == 0:
        return 0.0
    v = values[:: max(1, values.size // 200_000)]
    med = float(np.median(v))
    return float(1.4826 * np.median(np.abs(v - med)))


def paper_noise(grey: np.ndarray, page: np.ndarray) -> float:
    """The paper's noise: robust sigma of the flattened luminance's fine detail on the sheet (≥ 0.003)."""
    hp = grey - cv2.GaussianBlur(grey, (0, 0), 2.0)
    return max(0.003, robust_sigma(hp[page]) * 1.6)


def stroke_width(mask: np.ndarray) -> float:
    """Typical line width (px): twice the median of the distance map along the mask's ridges."""
    if not mask.any():
        return 1.0
    d = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = mask & (d >= cv2.dilate(d, np.ones((3, 3), np.uint8)) - 1e-6) & (d > 0)
    vals = d[ridge] if ridge.any() else d[mask]
    return float(max(1.0, 2.0 * np.median(vals)))


def chroma(rgb: np.ndarray) -> np.ndarray:
    """``(h, w)`` float32: max - min of the white-balanced RGB (0 for greys)."""
    return (rgb.max(-1) - rgb.min(-1)).astype(np.float32)


def line_map(grey: np.ndarray, rgb: np.ndarray, page: np.ndarray, *, noise: float,
             sensitivity: float = 1.0) -> tuple[np.ndarray, float]:
    """The line art: ``(lines (h, w) bool, stroke width px)``.

    Args:
        grey: ``(h, w)`` float32, flattened luminance (paper ≈ 1); rgb: the flattened colour ``(h, w, 3)``.
        page: ``(h, w)`` bool, the sheet; noise: :func:`paper_noise`; sensitivity: scales the noise margins.
    """
    dark = 1.0 - grey
    lo = sensitivity * max(0.025, 3.0 * noise)
    hi = sensitivity * max(0.07, 6.0 * noise)
    ch = chroma(rgb)
    solid = (dark > 0.45) & (ch < 0.12) & page  # black / grey solid ink (hair, a lapel, shoes)
    pre = (dark > hi) & (ch < 0.1) & page & ~solid
    if not (pre.any() or solid.any()):
        return np.zeros_like(page), 1.0
    sw = stroke_width(pre) if pre.any() else 3.0
    # Window: a few stroke widths (wider dark areas are fills, handled as colour or solid ink), bounded.
    cap = max(9, int(0.02 * max(grey.shape)))
    k = int(np.clip(2.5 * sw + 5, 7, cap)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    bth = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, kernel) - grey
    weak = (bth > lo) & page
    strong = (bth > hi) & page
    strong |= solid
    weak |= solid
    n, lab, st, _ = cv2.connectedComponentsWithStats(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(lab[strong])] = True
    # A faint line is long: weak pieces of many pixels stay even without a clearly dark stretch (noise is specks).
    keep |= st[:, cv2.CC_STAT_AREA] >= 30
    keep[0] = False
    keep &= st[:, cv2.CC_STAT_AREA] >= 4
    return keep[lab], sw


def colour_fills(rgb: np.ndarray, grey: np.ndarray, lines: np.ndarray, page: np.ndarray, *, noise: float,
                 speck: int, max_classes: int = 4) -> np.ndarray:
    """Flat colour areas: ``(h, w)`` int32, 0 = paper or line, 1..K = colour class.

    A pixel is a fill candidate when, smoothed, it is clearly darker than the paper or clearly coloured, away from
    the lines. Candidate areas touching the sheet's edge along much of their outline are left over illumination,
    not fills, and are dropped; so are areas smaller than ``speck`` px.
    """
    h, w = grey.shape
    sm = cv2.medianBlur((np.clip(rgb, 0, 1) * 255).astype(np.uint8), 5)
    smf = sm.astype(np.float32) / 255.0
    lum = smf @ np.float32([0.299, 0.587, 0.114])
    near_line = cv2.dilate(lines.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    # Grey: only clearly dark areas (ink wash, grey marker); light grey shading is the drawing's shading, not a fill.
    cand = (((1.0 - lum) > max(0.25, 6.0 * noise)) | (chroma(smf) > max(0.07, 6.0 * noise))) & page & ~near_line
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    if cand.sum() < max(speck, 0.002 * h * w):
        return np.zeros((h, w), np.int32)
    lab_img = cv2.cvtColor(sm, cv2.COLOR_RGB2LAB).astype(np.float32)
    samples = lab_img[cand]
    sub = samples[:: max(1, len(samples) // 20000)]
    k = int(min(max_classes, max(1, len(sub) // 50)))
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(sub, k, None, crit, 3, cv2.KMEANS_PP_CENTERS)
    centres = _merge_centres(centres, 18.0)
    d = ((lab_img[..., None, :] - centres[None, None]) ** 2).sum(-1)
    cls = (np.argmin(d, -1) + 1).astype(np.int32)
    cls[~cand] = 0
    out = np.zeros((h, w), np.int32)
    frame = ~page.copy()
    frame[0, :] = frame[-1, :] = True
    frame[:, 0] = frame[:, -1] = True
    frame_near = cv2.dilate(frame.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    for c in range(1, len(centres) + 1):
        n, lab, st, _ = cv2.connectedComponentsWithStats((cls == c).astype(np.uint8), connectivity=4)
        if n <= 1:
            continue
        on_frame = np.bincount(lab[frame_near], minlength=n)
        for i in range(1, n):
            area = st[i, cv2.CC_STAT_AREA]
            if area < max(speck, 0.001 * h * w):
                continue
            perim = 2.0 * (st[i, cv2.CC_STAT_WIDTH] + st[i, cv2.CC_STAT_HEIGHT])
            if on_frame[i] > 0.15 * perim:
                continue
            out[lab == i] = c
    return out


def _merge_centres(centres: np.ndarray, tol: float) -> np.ndarray:
    """Merge colour centres closer than ``tol`` (Lab units, 8-bit OpenCV scale)."""
    keep: list[np.ndarray] = []
    for c in centres:
        if all(np.linalg.norm(c - k) >= tol for k in keep):
            keep.append(c)
    return np.asarray(keep, np.float32)


def fill_edges(fills: np.ndarray) -> np.ndarray:
    """``(h, w)`` bool: the boundaries between fill classes (and between a fill and the paper), 2 px wide."""
    if not fills.any():
        return np.zeros(fills.shape, bool)
    k = np.ones((3, 3), np.uint8)
    f = fills.astype(np.int32)
    mx = cv2.dilate(f.astype(np.float32), k)
    mn = cv2.erode(f.astype(np.float32), k)
    return (mx != mn)


def clean_levels(values: np.ndarray, floor: float) -> np.ndarray:
    """Paper to exactly white: darkness below ``floor`` → 0, the rest stretched back to [0, 1]."""
    dark = 1.0 - values
    return (1.0 - np.clip((dark - floor) / max(1e-6, 1.0 - floor), 0.0, 1.0)).astype(np.float32)


def ink_opacity(grey_flat: np.ndarray, lines: np.ndarray, floor: float, *, grow: int = 1) -> np.ndarray:
    """``(H, W)`` float32 in [0, 1]: how dark each line pixel is on clean paper (1 = solid ink), 0 off the lines."""
    near = lines
    if grow > 0:
        near = cv2.dilate(lines.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
    op = np.clip((1.0 - grey_flat - floor) / max(1e-6, 1.0 - floor), 0.0, 1.0)
    return np.where(near, op, 0.0).astype(np.float32)


def texture_share(grey: np.ndarray, lines: np.ndarray, page: np.ndarray) -> float:
    """Share of the sheet that is textured (local contrast) away from lines: high for a photo, low for drawings."""
    g = grey.astype(np.float32)
    m = cv2.blur(g, (7, 7))
    v = cv2.blur(g * g, (7, 7)) - m * m
    sd = np.sqrt(np.maximum(v, 0))
    near = cv2.dilate(lines.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    where = page & ~near
    if not where.any():
        return 0.0
    return float((sd[where] > 0.04).mean())

