"""Garment parts from panels: which enclosed regions a designer means by one click.

A skirt drawn with panel seams is many enclosed regions, but one part: a click inside it should select the skirt.
Panels of one part are **side by side and span the part**: each runs (nearly) the full length of their union in the
same direction, and their union is as convex as they are (a skirt's panels fill its trapezoid). Parts that meet at
a seam are not like that: a bodice on a flared skirt, a sleeve on a body, a leg beside a leg make a union with a
notch (lower solidity); a collar or waistband does not span the front it sits on; a pocket lies inside its panel.
Pairs are left alone (two fronts, two legs are usually meant separately); groups of three or more panels are
parts. ``region_at(..., scope="panel")`` still selects one panel.
"""
from __future__ import annotations

import cv2
import numpy as np

from .lineart import KIND_FILL, Partition

#: A union of panels must be at least this convex (area / convex hull area) …
MIN_SOLIDITY = 0.86
#: … and lose at most this much solidity against its members.
MAX_SOLIDITY_LOSS = 0.05
#: Each panel spans at least this share of the union's length (in the panels' direction).
MIN_SPAN = 0.6
#: Smallest group that is a part (pairs stay separate).
MIN_GROUP = 3


def _hull(part: Partition, lab: int) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in part.boxes[lab - 1])
    crop = (part.labels[y0:y1, x0:x1] == lab).astype(np.uint8)
    cs, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not cs:
        return np.zeros((0, 2), np.float32)
    pts = (np.concatenate([c.reshape(-1, 2) for c in cs]) + [x0, y0]).astype(np.float32)
    return cv2.convexHull(pts).reshape(-1, 2)


def panel_groups(part: Partition, candidates=None) -> np.ndarray:
    """``(N + 1,)`` int64: a group id per region label (0 = background); regions of one multi-panel part share an
    id, every other region has its own. ``candidates``: the labels allowed to group (default: all enclosed and
    colour regions of at least 0.3 % of the drawing)."""
    n = part.n
    group = np.arange(n + 1, dtype=np.int64)
    if n < MIN_GROUP:
        return group
    total = float(part.area.sum())
    if candidates is None:
        candidates = [l for l in range(1, n + 1) if part.kinds[l - 1] != KIND_FILL and part.area[l - 1] >= 0.003 * total]
    cand = [int(l) for l in candidates]
    if len(cand) < MIN_GROUP:
        return group
    hulls = {l: _hull(part, l) for l in cand}
    members: dict[int, list[int]] = {l: [l] for l in cand}
    area = {l: float(part.area[l - 1]) for l in cand}
    pts = dict(hulls)
    box = {l: tuple(int(v) for v in part.boxes[l - 1]) for l in cand}

    def solidity(p: np.ndarray, a: float) -> float:
        if len(p) < 3:
            return 0.0
        return a / max(float(cv2.contourArea(cv2.convexHull(p.astype(np.float32)))), 1.0)

    sol = {l: solidity(pts[l], area[l]) for l in cand}
    while True:
        best = None
        keys = sorted(members)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                shared = sum(part.adjacency[x, y] for x in members[a] for y in members[b])
                if shared == 0:
                    continue
                up = np.concatenate([pts[a], pts[b]])
                ua = area[a] + area[b]
                us = solidity(up, ua)
                if us < MIN_SOLIDITY or us < min(sol[a], sol[b]) - MAX_SOLIDITY_LOSS:
                    continue
                ub = (min(box[a][0], box[b][0]), min(box[a][1], box[b][1]), max(box[a][2], box[b][2]),
                      max(box[a][3], box[b][3]))
                if not _spans(part, members[a] + members[b], ub):
                    continue
                if best is None or us > best[0]:
                    best = (us, a, b, up, ua, ub)
        if best is None:
            break
        us, a, b, up, ua, ub = best
        members[a] += members.pop(b)
        pts[a] = cv2.convexHull(up.astype(np.float32)).reshape(-1, 2)
        area[a], sol[a], box[a] = ua, us, ub
        for k in (pts, area, sol, box):
            k.pop(b, None)
    for gid, ms in members.items():
        if len(ms) >= MIN_GROUP:
            group[np.asarray(ms)] = gid
    return group


def _spans(part: Partition, labels: list[int], ub: tuple[int, int, int, int]) -> bool:
    """Every panel runs ≥ :data:`MIN_SPAN` of the union's height (vertical panels) or of its width (tiers)."""
    uh, uw = max(ub[3] - ub[1], 1), max(ub[2] - ub[0], 1)
    hs = [(part.boxes[l - 1, 3] - part.boxes[l - 1, 1]) / uh for l in labels]
    ws = [(part.boxes[l - 1, 2] - part.boxes[l - 1, 0]) / uw for l in labels]
    return min(hs) >= MIN_SPAN or min(ws) >= MIN_SPAN
