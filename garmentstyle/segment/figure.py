"""Croquis: a scored interpretation of the figure — which regions are clothing, which are the body.

Each region of the figure (below the head) gets a **garment probability** ``p`` in [0, 1] from two kinds of
evidence, instead of a chain of yes/no thresholds:

* **shape and position** relative to the figure (the prior): the big regions of the body (inscribed radius ≥ 60 %
  of the biggest) are clothing; *limbs* — thin (radius < 35 %, but ≥ a tenth of the face's: thinner slivers are paper between two lines), elongated regions that run along the background
  and reach the silhouette's sides or bottom or lie far out from the figure's axis (a bent forearm) — and *hands / feet* — small regions mostly bordered by the
  background at the figure's extremities — are skin; everything else starts undecided (0.5);
* **what a region hangs with** (the neighbours): ``p`` is repeatedly mixed with the outline-length-weighted mean
  ``p`` of its neighbours (the background and solid ink fills do not vote; the head votes 0; the torso region,
  under a point on the figure's axis 35 % down, votes 1). A collar piece bordered mostly by the shirt ends up
  clothing although it touches the neck; the paper inside a bent arm, bordered mostly by skin, ends up skin.
  Undecided regions follow their neighbours fully; regions with a shape prior keep three quarters of it and vote
  with it.

*Accessories* (a bag, a held object) are regions that the garment does not surround: their outline runs mostly
along skin and the background, so the vote pulls them down; a region that juts out of the garment's outline
between an arm and the body is skin-framed and goes the same way.

The garment is then the regions with ``p > 0.5`` connected (through shared seams or solid fills such as a belt)
to the torso region. The reading's **ambiguity** is the area-weighted share of the figure whose ``p`` lies in
the uncertain band (0.3-0.7): the confidence falls with it (and a note names it) — the idea of SAM's automatic
mask generator, which keeps a candidate only when its predicted quality is high *and* stable, applied to the
reading as a whole (stability across gap tolerances is measured in :func:`.auto.figure_confidence`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lineart import KIND_FILL, Partition

#: Shape-prior garment probabilities.
P_BIG, P_LIMB, P_END, P_OPEN = 0.9, 0.08, 0.12, 0.5
#: Prior of a region in the crook of an arm, and of a small detail drawn on the garment (badge, buckle).
P_CROOK, P_DETAIL = 0.1, 0.1
#: In the crook of an arm: at least this share of the outline runs along a limb / hand (and none along the paper).
CROOK_LIMB_SHARE = 0.25
#: A detail is at most this share of the face's area (of the body's, ×0.1, without a face) and this convex.
DETAIL_MAX_FACE, DETAIL_MIN_SOLIDITY = 0.15, 0.85
#: A detail on a belt: at least this share of its outline runs along solid fills.
DETAIL_FILL_SHARE = 0.3
#: Propagation rounds (each mixes every region with its neighbours once).
ROUNDS = 30
#: Weight of the head's (0) vote relative to a body region's, per px of shared outline.
HEAD_VOTE = 0.5
#: ``p`` in this band counts as ambiguous.
AMBIGUOUS = (0.3, 0.7)


@dataclass(frozen=True)
class Figure:
    """What the caller knows about the figure before the interpretation.

    Attributes:
        cand: region labels of the figure (int array).
        head: region labels taken as head / hair / everything above the chin (never clothing).
        fills: solid ink fills of the figure (hair, shoes, belt): never clothing on their own, do not vote.
        box: the silhouette's (top, bottom, left, right) in working px.
        face_area: area (px) of the face region, 0 when no head was found.
        torso: (x, y) working px of a point on the torso (on the figure's axis, 35 % down).
        axis: x (working px) of the figure's vertical axis: the face's centre when a head was found (a bent arm
            does not move it), else the torso point's.
    """

    cand: np.ndarray
    head: frozenset
    fills: frozenset
    box: tuple[int, int, int, int]
    face_area: float
    torso: tuple[int, int]
    axis: float


@dataclass
class Reading:
    """The interpretation: garment labels, per-label garment probability, ambiguity and notes.

    Attributes:
        garment: labels of the garment (connected to the torso).
        p: ``{label: garment probability}`` for the body regions (not head, not fills).
        prior: ``{label: shape prior}`` (what shape and position alone said).
        seed: the torso region's label (the largest body region when the torso point is on none).
        ambiguity: area-weighted share of the body whose ``p`` is in :data:`AMBIGUOUS`, in [0, 1].
        notes: what made the reading doubtful.
        toss: the share of the body that is a coin toss: each region weighted by how near its ``p`` is to 0.5
            (1 at 0.5, 0 at the edges of :data:`AMBIGUOUS`), in [0, 1]; it lowers the final confidence.
    """

    garment: set[int]
    p: dict[int, float]
    prior: dict[int, float]
    seed: int
    ambiguity: float
    notes: list[str] = field(default_factory=list)
    toss: float = 0.0


def shape_prior(part: Partition, body: set[int], fig: Figure) -> dict[int, float]:
    """Garment probability of each body region from its own shape and its place on the figure (module docstring)."""
    top, bottom, left, right = fig.box
    h, w = bottom - top, right - left
    axis = fig.axis
    per = np.maximum(part.adjacency.sum(1), 1)
    r_ref = max(float(part.radius[l - 1]) for l in body)
    # Thinner than a tenth of the face's equivalent radius: paper between two lines, not a limb.
    sliver = 0.1 * np.sqrt(fig.face_area / np.pi) if fig.face_area else 0.1 * r_ref
    body_area = sum(float(part.area[l - 1]) for l in body)
    out: dict[int, float] = {}
    for l in body:
        x0, y0, x1, y1 = part.boxes[l - 1]
        rel = float(part.radius[l - 1]) / max(r_ref, 1e-6)
        bg = float(part.adjacency[l, 0]) / per[l]
        area = float(part.area[l - 1])
        elong = area / (np.pi * max(float(part.radius[l - 1]), 1.0) ** 2)
        # Distal: at the silhouette's sides, or centred far out from the figure's axis (a bent arm's forearm).
        side = x0 <= left + 0.05 * w or x1 >= right - 0.05 * w or abs(float(part.cx[l - 1]) - axis) > 0.25 * w
        foot = y1 >= bottom - 0.08 * h
        small = fig.face_area > 0 and area <= 0.35 * fig.face_area
        if rel >= 0.6 or (rel >= 0.4 and area >= 0.08 * body_area):
            out[l] = P_BIG
        elif rel < 0.35 and float(part.radius[l - 1]) >= sliver and bg >= 0.35 and elong >= 4.0 and (side or foot):
            out[l] = P_LIMB  # an arm or a leg
        elif bg >= 0.5 and (small or (foot and rel < 0.6 and area <= 0.6 * max(fig.face_area, 1.0))):
            out[l] = P_END  # a hand or a foot
        else:
            out[l] = P_OPEN
    return _context_priors(part, body, out, fig)


def _solidity(part: Partition, lab: int) -> float:
    """Paper area of region ``lab`` over its convex hull's (1 for a convex shape; ragged or notched: lower)."""
    import cv2

    x0, y0, x1, y1 = (int(v) for v in part.boxes[lab - 1])
    crop = (part.free_labels[y0:y1, x0:x1] == lab).astype(np.uint8)
    cs, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not cs:
        return 0.0
    hull = float(cv2.contourArea(cv2.convexHull(np.concatenate([c.reshape(-1, 2) for c in cs]))))
    return float(crop.sum()) / max(hull, 1.0)


def _context_priors(part: Partition, body: set[int], prior: dict[int, float], fig: Figure) -> dict[int, float]:
    """Priors from what an undecided region sits between, for regions enclosed in the figure (no paper contact):

    * **the crook of an arm**: ≥ :data:`CROOK_LIMB_SHARE` of its outline along a limb or a hand — the paper (or
      the body) seen through an arm bent to the hip, and what hangs there (a held cap): :data:`P_CROOK`. A garment
      panel meets a limb only at a cuff or a hem, a short share of its outline;
    * **a detail drawn on the garment**: small (≤ :data:`DETAIL_MAX_FACE` of the face) and compact (solidity ≥
      :data:`DETAIL_MIN_SOLIDITY`), and either inside one single region (a badge, a patch, a button drawn as a
      ring) or ≥ :data:`DETAIL_FILL_SHARE` along solid fills (a buckle on a belt): :data:`P_DETAIL`. It is drawn
      on the fabric, not made of it: the render keeps it as drawn. A pocket is bigger; a panel piece reaches
      another seam.
    """
    per = np.maximum(part.adjacency.sum(1), 1)
    skin = {l for l, v in prior.items() if v in (P_LIMB, P_END)}
    body_area = sum(float(part.area[l - 1]) for l in body)
    small = DETAIL_MAX_FACE * fig.face_area if fig.face_area else 0.01 * body_area
    out = dict(prior)
    for l in body:
        if prior[l] != P_OPEN or part.adjacency[l, 0] > 0:
            continue
        nbs = [int(k) for k in np.flatnonzero(part.adjacency[l] > 0) if k != l]
        limb = sum(float(part.adjacency[l, k]) for k in nbs if k in skin) / per[l]
        fill = sum(float(part.adjacency[l, k]) for k in nbs if k in fig.fills) / per[l]
        if limb >= CROOK_LIMB_SHARE:
            out[l] = P_CROOK
        elif (part.area[l - 1] <= small and (len(nbs) == 1 or fill >= DETAIL_FILL_SHARE)
              and _solidity(part, l) >= DETAIL_MIN_SOLIDITY):
            out[l] = P_DETAIL
    return out


def _seed(part: Partition, body: set[int], fig: Figure) -> tuple[int, bool]:
    """The torso region (under the torso point) and True; else the largest body region and False."""
    x, y = fig.torso
    lab = int(part.labels[y, x]) if 0 <= y < part.shape[0] and 0 <= x < part.shape[1] else 0
    if lab in body:
        return lab, True
    return max(body, key=lambda l: part.area[l - 1]), False


def propagate(part: Partition, body: set[int], prior: dict[int, float], seed: int, head: frozenset) -> dict[int, float]:
    """Mix each region's ``p`` with its neighbours' (outline-length weighted), :data:`ROUNDS` times.

    The head votes 0, the torso seed is held at 1, the background and fills do not vote. A region with a shape
    prior keeps three quarters of it every round (and votes with its prior); an undecided one follows its neighbours."""
    p = dict(prior)
    if seed:
        p[seed] = 1.0
    adj = part.adjacency
    for _ in range(ROUNDS):
        new = {}
        for l in body:
            if l == seed:
                new[l] = 1.0
                continue
            wsum = 0.0
            vote = 0.0
            for k in np.flatnonzero(adj[l] > 0):
                k = int(k)
                if k == l or k == 0:
                    continue
                if k in p:
                    # A region with a shape prior votes with it (a limb stays skin however much it touches
                    # the dress); an undecided region votes with what its own neighbours made of it.
                    vote += adj[l, k] * (p[k] if prior[k] == P_OPEN or k == seed else prior[k])
                    wsum += adj[l, k]
                elif k in head:
                    wsum += HEAD_VOTE * adj[l, k]
            nb = vote / wsum if wsum else prior[l]
            keep = 0.0 if prior[l] == P_OPEN else 0.75
            new[l] = keep * prior[l] + (1 - keep) * nb
        p = new
    return p


def interpret(part: Partition, fig: Figure) -> Reading:
    """The scored reading of a figure (module docstring): garment labels, probabilities, ambiguity, notes."""
    head = fig.head
    body = {int(l) for l in fig.cand if int(l) not in head and int(l) not in fig.fills}
    if not body:
        return Reading(set(), {}, {}, 0, 1.0, ["no body regions below the head"])
    prior = shape_prior(part, body, fig)
    seed, on_torso = _seed(part, body, fig)
    p = propagate(part, body, prior, seed, head)
    garment = _connected(part, {l for l in body if p[l] > 0.5}, seed, fig.fills)
    area = {l: float(part.area[l - 1]) for l in body}
    total = sum(area.values()) or 1.0
    lo, hi = AMBIGUOUS
    amb = [l for l in body if lo < p[l] < hi]
    ambiguity = sum(area[l] for l in amb) / total
    half = (hi - lo) / 2
    toss = sum(area[l] * max(0.0, 1.0 - abs(p[l] - 0.5) / half) for l in body) / total
    notes = []
    if ambiguity > 0.02:
        notes.append(f"{len(amb)} region(s) ({ambiguity:.0%} of the figure) could be clothing or body; "
                     "check the pick or select with strokes")
    if not on_torso:
        notes.append("no body region under the figure's torso point; the largest region was taken as the torso")
    return Reading(garment, p, prior, seed, float(ambiguity), notes, float(toss))


def _connected(part: Partition, keep: set[int], seed: int, fills: frozenset) -> set[int]:
    """The regions of ``keep`` reachable from ``seed`` through shared seams (solid fills such as a belt pass the
    connection on but are not returned). Without a seed, the largest such group."""
    if not keep:
        return set()
    through = keep | set(fills)
    adj = part.adjacency

    def reach(start: int) -> set[int]:
        seen, todo = {start}, [start]
        while todo:
            a = todo.pop()
            for b in np.flatnonzero(adj[a] > 0):
                b = int(b)
                if b in through and b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen & keep

    if seed in keep:
        return reach(seed)
    groups = []
    left = set(keep)
    while left:
        s = next(iter(left))
        g = reach(s) | {s}
        groups.append(g & keep)
        left -= g
    return max(groups, key=lambda g: sum(float(part.area[l - 1]) for l in g))


#: A cut between a top and a bottom may cross at most this share of the garment's area (a belt, a buckle).
MAX_CUT_SHARE = 0.06
#: Each side of the cut holds at least this share of the garment.
MIN_SIDE_SHARE = 0.2


def garment_pieces(part: Partition, chosen, groups: np.ndarray) -> np.ndarray:
    """The figure's garment split into the pieces a click means: a top and a bottom (coat / skirt, shirt /
    trousers) where a row crosses (almost) no garment region, else one piece (a dress).

    A croquis' garment is drawn as many panels whose union is not convex (a coat's sleeves), so
    :func:`.parts.panel_groups` leaves them apart; on a figure, the pieces are read from the figure instead: the
    row between 25 % and 80 % of the garment's height that the fewest garment regions straddle (≤
    :data:`MAX_CUT_SHARE` of its area; a region straddles a row when it reaches across it by more than a stroke
    width and a quarter of its own height on both sides), with ≥ :data:`MIN_SIDE_SHARE` on each side; of rows
    crossed as little, the lowest (a coat's own waist seam stays inside the coat). Regions go to the side of
    their centre.

    Args:
        part: the partition.
        chosen: the garment's labels (fills included or not).
        groups: ``(N + 1,)`` the panel groups (not modified).

    Returns:
        ``(N + 1,)`` int64: ``groups`` with every garment label given its piece's id (the piece's smallest label)
        and every other label that shared a group with a garment label given its own.
    """
    g = sorted(int(l) for l in chosen if part.kinds[l - 1] != KIND_FILL)
    out = np.asarray(groups, np.int64).copy()
    if not g:
        return out
    garment = set(int(l) for l in chosen)
    for l in range(1, part.n + 1):
        if l not in garment and out[l] in garment:
            out[l] = l
    boxes = part.boxes[np.asarray(g) - 1]
    area = part.area[np.asarray(g) - 1].astype(float)
    total = float(area.sum())
    y0, y1 = int(boxes[:, 1].min()), int(boxes[:, 3].max())
    tol = max(2.0, float(part.stroke))
    cy = part.cy[np.asarray(g) - 1]
    best = None
    for y in range(int(y0 + 0.25 * (y1 - y0)), int(y0 + 0.8 * (y1 - y0)) + 1):
        reach = np.minimum(y - boxes[:, 1], boxes[:, 3] - y)  # how far a region reaches across the row
        cross = float(area[reach > np.maximum(tol, 0.25 * (boxes[:, 3] - boxes[:, 1]))].sum()) / total
        above = float(area[cy < y].sum()) / total
        if cross <= MAX_CUT_SHARE and MIN_SIDE_SHARE <= above <= 1 - MIN_SIDE_SHARE:
            # Of the rows crossed as little, the lowest: a top's own waist seam stays inside the top (a coat).
            key = (round(cross / 0.02), -y)
            if best is None or key < best[0]:
                best = (key, y)
    if best is None:
        sides = [garment]
    else:
        top = {l for l, c in zip(g, cy) if c < best[1]}
        sides = [top, garment - top]
    for side in sides:
        if side:
            out[np.asarray(sorted(side))] = min(side)
    return out



def outline_off(part: Partition, chosen) -> np.ndarray:
    """A figure's garment mask ``(H, W)`` bool (working px): the chosen regions without the outline they share
    with the body, an accessory or the paper; lines inside the garment (seams, darts, a placket) stay in it.

    Why (the *outline rule*; ``bench/SEGMENT_RESULTS.md``): on a figure the garment is one of several regions a
    designer colours (skin, hair, a second garment, a bag), and a line between two of them belongs to neither —
    each is coloured up to the line, as with a marker inside the lines. The render lays the ink over the fabric
    (:func:`garmentstyle.finish.compose`), so a solid line looks the same either way; what changes is its edge on
    the far side: a mask that takes the whole outline paints fabric into the anti-aliased fringe on the skin's or
    the paper's side. An ink pixel is outline when it lies within 1.5 line widths (+1 px) of paper or body that is
    not garment; solid fills the garment holds (buttons, a belt) are not ink here. On a flat the garment is the only
    region and keeps its outline (its silhouette, lines included, is the garment)."""
    from ..morph import bbox, edt_in_box

    keep = [int(l) for l in chosen]
    g = part.mask(keep)
    fill_l = [l for l in keep if part.kinds[l - 1] == KIND_FILL]
    ink = part.ink & ~part.mask(fill_l) if fill_l else part.ink
    outside = ~g & ~ink
    if not outside.any() or not (g & ink).any():
        return g
    reach = 1.5 * max(1.0, float(part.stroke)) + 1.0
    y0, y1, x0, x1 = box = bbox(g & ink)  # only the garment's ink can be outline: distances there, within reach
    d_out = edt_in_box(~outside, box, reach + 1.0)
    off = np.zeros_like(g)
    off[y0:y1, x0:x1] = ink[y0:y1, x0:x1] & (d_out <= reach)
    return g & ~off
