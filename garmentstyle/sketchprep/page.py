"""Where the sheet is, and how much it (or the drawing) is rotated.

A phone photo shows the sheet on a desk: the desk is darker than the paper and meets it along a **sharp** edge (a
shadow or vignette is soft). The sheet is the bright region whose boundary with the dark border area is sharp; its
minimum-area rectangle gives the rotation. On a scan (no visible sheet edge) the rotation comes from the drawing's
long straight lines near the horizontal / vertical (a hem, a centre front), only when several agree.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

#: Rotations larger than this (degrees) are not "small" and are not reported.
MAX_ROTATION: float = 8.0


def find_page(rgb: np.ndarray) -> tuple[Optional[np.ndarray], Optional[float]]:
    """The sheet in a photo: ``(mask (h, w) bool or None, rotation degrees or None)``.

    Returns ``(None, None)`` when no sheet edge is visible (a scan, or a drawing that fills the frame).
    """
    h, w = rgb.shape[:2]
    s = min(1.0, 256.0 / max(h, w))
    th, tw = max(8, int(round(h * s))), max(8, int(round(w * s)))
    lum = cv2.resize(rgb @ np.float32([0.299, 0.587, 0.114]), (tw, th), interpolation=cv2.INTER_AREA)
    lum = cv2.GaussianBlur(lum, (0, 0), 1.0)
    t, _ = cv2.threshold((lum * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = lum * 255 > t
    dark = ~bright
    # The dark class must hold the border (a desk frames the sheet) …
    border = np.concatenate([dark[0], dark[-1], dark[:, 0], dark[:, -1]])
    if border.mean() < 0.5 or dark.mean() < 0.03:
        return None, None
    # The desk: dark areas connected to the image's border; the sheet: everything else (its drawing included).
    n, lab, st, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8), connectivity=8)
    edge_ids = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    desk = np.isin(lab, edge_ids[edge_ids > 0])
    # A desk is a band several px wide all round; a frame drawn round the page is a thin line.
    kd = max(5, int(0.03 * min(th, tw))) | 1
    core = cv2.erode(desk.astype(np.uint8), np.ones((kd, kd), np.uint8), borderType=cv2.BORDER_CONSTANT,
                     borderValue=0).astype(bool)
    if core.sum() < 0.3 * desk.sum() or desk.mean() < 0.03:
        return None, None
    n, lab, st, _ = cv2.connectedComponentsWithStats((~desk).astype(np.uint8), connectivity=4)
    if n <= 1:
        return None, None
    big = 1 + int(np.argmax(st[1:, cv2.CC_STAT_AREA]))
    sheet = lab == big
    share = float(sheet.mean())
    if not 0.25 <= share <= 0.97:
        return None, None
    hull = cv2.convexHull(np.column_stack(np.nonzero(sheet)[::-1]).astype(np.int32))
    filled = np.zeros((th, tw), np.uint8)
    cv2.fillConvexPoly(filled, hull, 1)
    if sheet.sum() < 0.9 * filled.sum():  # not a sheet-like convex shape
        return None, None
    # … and meet the sheet along a sharp edge (a shadow's edge is soft).
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    grad = np.hypot(gx, gy)
    edge = (cv2.dilate(filled, np.ones((3, 3), np.uint8)) - cv2.erode(filled, np.ones((3, 3), np.uint8))) > 0
    edge[:2] = edge[-2:] = False
    edge[:, :2] = edge[:, -2:] = False
    if edge.sum() < 20:
        return None, None
    contrast = float(np.percentile(lum[sheet], 90)) - float(np.median(lum[desk]))
    if float(np.percentile(grad[edge], 50)) < max(0.02, 0.12 * contrast):
        return None, None
    rect = cv2.minAreaRect(hull.astype(np.float32))
    ang = float(rect[2])
    while ang > 45:
        ang -= 90
    while ang < -45:
        ang += 90
    # Shrink by a few px so the sheet's edge itself is not line art.
    filled = cv2.erode(filled, np.ones((5, 5), np.uint8))
    mask = cv2.resize(filled, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    return mask, (ang if abs(ang) <= MAX_ROTATION else None)


def lines_rotation(lines: np.ndarray) -> Optional[float]:
    """Rotation (degrees, clockwise on screen) from the drawing's long near-axis straight lines, or None."""
    h, w = lines.shape
    side = max(h, w)
    segs = cv2.HoughLinesP(lines.astype(np.uint8) * 255, 1, np.pi / 720, threshold=max(20, side // 20),
                           minLineLength=side // 8, maxLineGap=max(3, side // 150))
    if segs is None:
        return None
    angs, lens, horiz = [], [], []
    for x0, y0, x1, y1 in segs.reshape(-1, 4):
        a0 = np.degrees(np.arctan2(y1 - y0, x1 - x0))
        a = (a0 + 45) % 90 - 45  # relative to the nearest axis
        if abs(a) <= 5:
            angs.append(a)
            lens.append(np.hypot(x1 - x0, y1 - y0))
            horiz.append(abs(((a0 + 90) % 180) - 90) < 45)
    if len(angs) < 3:
        return None
    angs, lens, horiz = np.asarray(angs), np.asarray(lens), np.asarray(horiz)
    order = np.argsort(angs)
    cum = np.cumsum(lens[order])
    med = float(angs[order][np.searchsorted(cum, cum[-1] / 2)])
    ok = np.abs(angs - med) <= 0.75
    agree = lens[ok].sum() / lens.sum()
    # Slanted legs or a flared skirt agree among themselves; a real rotation turns horizontals and verticals alike.
    if agree < 0.6 or not (ok & horiz).any() or not (ok & ~horiz).any():
        return None
    return med  # image y points down: positive = turned clockwise on screen
