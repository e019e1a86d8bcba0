"""The auto pick: which regions of a drawing are the garment.

On a **flat** (a garment drawn alone) the garment is the drawing's whole silhouette: every region that is not
background, joined with the lines between them, holes filled, stray marks dropped.

On a **figure** (a croquis: a person wearing the garment) the head, neck, hands, arms and legs are drawn as closed
regions too. The figure test and the head are plain rules; the body is read by a scored interpretation
(:mod:`.figure`; figures in ``bench/SEGMENT_RESULTS.md``); where it is unsure the confidence is lowered and a note
says so:

1. **Is it a figure?** The silhouette is tall (height ≥ 1.6 × width), has ≥ 8 regions, and its top holds a *head*:
   the regions within the top 27 % of the height form a group no wider than 65 % of the silhouette that sticks out
   alone (nothing else drawn beside it), with ≥ 2.2 head heights of body below.
2. **Head and neck.** The face (the largest enclosed region of that group) and what ends by the chin (hair, hat);
   everything centred above the chin; the *neck*: a region touching the head, starting just below the chin, centred
   under the face, not wider than it. Solid ink fills (hair, shoes, belts) are never fabric on their own.
3. **The reading** (:mod:`.figure`): every body region gets a garment probability from its shape and place on
   the figure (big regions: clothing; limbs — thin, elongated, along the background, at the sides / bottom or far
   out from the figure's axis — and hands / feet: skin; the rest undecided) mixed with its neighbours' (weighted by
   shared outline; the head votes 0, the torso region 1). The garment is what ends above 0.5 and hangs together
   with the torso region (through seams or a belt); the share of the figure left ambiguous lowers the confidence.
4. **Garment** = that reading, plus the small fills it surrounds (buttons, badges).

Flats get confidence from the closure (gap needed) and a plausible area; figures are capped at 0.75 and say so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi

from .. import morph
from .figure import Figure, interpret
from .lineart import KIND_FILL, Partition

#: Figure test thresholds (see the module docstring).
FIGURE_MIN_ASPECT = 1.6
FIGURE_MIN_REGIONS = 8
HEAD_BAND = 0.27
HEAD_MAX_WIDTH = 0.65


@dataclass
class Pick:
    """The auto pick on a :class:`Partition`.

    Attributes:
        chosen: region labels that are the garment.
        scores: per region label (index ``label - 1``) garment-likeness in [0, 1].
        layout: ``"flat"`` or ``"figure"``.
        confidence: in [0, 1].
        notes: warnings.
        excluded: region labels judged skin / hair / accessories (figures only), for messages and tests.
        toss: the share of the figure its reading left a coin toss (:attr:`.figure.Reading.toss`; 0 on flats).
    """

    chosen: list[int]
    scores: np.ndarray
    layout: str
    confidence: float
    notes: list[str] = field(default_factory=list)
    excluded: list[int] = field(default_factory=list)
    toss: float = 0.0


@dataclass
class _Sil:
    top: int
    bottom: int
    left: int
    right: int
    mask: np.ndarray

    @property
    def h(self) -> int:
        return self.bottom - self.top

    @property
    def w(self) -> int:
        return self.right - self.left


def main_regions(part: Partition) -> np.ndarray:
    """Labels of the drawing's main silhouette(s): connected groups of regions (through shared boundaries) whose
    area is ≥ 5 % of the largest group. Stray marks and captions far from the garment drop out."""
    n = part.n
    if n == 0:
        return np.zeros(0, np.int64)
    adj = part.adjacency[1:, 1:] > 0
    n_comp, comp = _components(adj)
    sizes = np.bincount(comp, weights=part.area, minlength=n_comp)
    keep = np.flatnonzero(sizes >= 0.05 * sizes.max())
    return np.flatnonzero(np.isin(comp, keep)) + 1


def _components(adj: np.ndarray) -> tuple[int, np.ndarray]:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    return connected_components(csr_matrix(adj), directed=False)


def silhouette(part: Partition, labels: np.ndarray) -> _Sil:
    m = morph.fill_holes(part.mask(labels))
    ys = np.flatnonzero(m.any(1))
    xs = np.flatnonzero(m.any(0))
    return _Sil(int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1, m)


def _head_group(part: Partition, cand: np.ndarray, sil: _Sil) -> list[int] | None:
    """The regions forming a head at the top of the silhouette, or None when there is no head."""
    boxes = part.boxes
    limit = sil.top + HEAD_BAND * sil.h
    in_band = [int(l) for l in cand if boxes[l - 1, 3] <= limit]
    if not in_band:
        return None
    # Connected (through shared boundaries) to the region that reaches highest.
    top_l = min(in_band, key=lambda l: boxes[l - 1, 1])
    if boxes[top_l - 1, 1] > sil.top + 0.03 * sil.h:
        return None
    group = {top_l}
    grew = True
    while grew:
        grew = False
        for l in in_band:
            if l not in group and any(part.adjacency[l, g] > 0 for g in group):
                group.add(l)
                grew = True
    g = sorted(group)
    gb = boxes[np.asarray(g) - 1]
    x0, y0, x1, y1 = gb[:, 0].min(), gb[:, 1].min(), gb[:, 2].max(), gb[:, 3].max()
    width = x1 - x0
    height = y1 - y0
    if width > HEAD_MAX_WIDTH * sil.w or height <= 0:
        return None
    if sil.bottom - y1 < 2.2 * height:
        return None
    # It sticks out alone: at the head's rows nothing much else is drawn beside it.
    rows = sil.mask[y0 + height // 4 : y0 + (3 * height) // 4]
    if rows.size == 0:
        return None
    spans = np.array([(r.nonzero()[0][-1] - r.nonzero()[0][0] + 1) if r.any() else 0 for r in rows])
    if np.median(spans) > 1.5 * width:
        return None
    return g


def detect_layout(part: Partition, cand: np.ndarray, sil: _Sil) -> tuple[str, list[int] | None]:
    if sil.h < FIGURE_MIN_ASPECT * sil.w or len(cand) < FIGURE_MIN_REGIONS:
        return "flat", None
    head = _head_group(part, cand, sil)
    return ("figure", head) if head else ("flat", None)


def drawing_groups(part: Partition) -> list[np.ndarray]:
    """The separate drawings on the page: connected groups of regions (through shared boundaries) of at least
    30 % of the largest group's area, largest first (one for most sketches; two for a page with two figures)."""
    n = part.n
    if n == 0:
        return []
    adj = part.adjacency[1:, 1:] > 0
    n_comp, comp = _components(adj)
    sizes = np.bincount(comp, weights=part.area, minlength=n_comp)
    keep = [int(c) for c in np.argsort(-sizes) if sizes[c] >= 0.3 * sizes.max()]
    return [np.flatnonzero(comp == c) + 1 for c in keep]


def pick(part: Partition, *, layout: str = "auto") -> Pick:
    """Choose the garment's regions on a partition (see the module docstring).

    A page with several separate drawings of similar size (two figures, two flats) is picked drawing by drawing;
    the result is their union, with a note and a lowered confidence (a click or strokes pick one).

    Args:
        part: from :func:`garmentstyle.segment.lineart.partition`.
        layout: ``"auto"``, ``"flat"`` or ``"figure"``.
    """
    groups = drawing_groups(part)
    if len(groups) <= 1:
        return _pick_one(part, main_regions(part), layout)
    picks = [_pick_one(part, g, layout) for g in groups]
    chosen = sorted({c for p in picks for c in p.chosen})
    scores = np.max(np.stack([p.scores for p in picks]), axis=0)
    lay = "figure" if any(p.layout == "figure" for p in picks) else "flat"
    notes = [f"{len(groups)} separate drawings on the page ({', '.join(p.layout for p in picks)}): each was "
             "segmented and the garment mask covers them all; click one (or use strokes) to take it alone"]
    for p in picks:
        notes += [n for n in p.notes if n not in notes]
    conf = 0.6 * min(p.confidence for p in picks)
    return Pick(chosen, scores, lay, conf, notes, sorted({e for p in picks for e in p.excluded}),
                max(p.toss for p in picks))


def _pick_one(part: Partition, cand: np.ndarray, layout: str) -> Pick:
    notes: list[str] = []
    sil = silhouette(part, cand)
    head = None
    if layout == "auto":
        layout, head = detect_layout(part, cand, sil)
    elif layout == "figure":
        head = _head_group(part, cand, sil)
        if head is None:
            notes.append("layout 'figure' was asked for but no head was found at the top of the drawing")
    scores = np.zeros(part.n)
    if layout == "flat":
        scores[cand - 1] = 1.0
        return Pick(sorted(int(c) for c in cand), scores, "flat", _flat_confidence(part, sil), notes)
    return _pick_figure(part, cand, sil, head or [], notes)


def _flat_confidence(part: Partition, sil: _Sil) -> float:
    h, w = part.shape
    area = float(sil.mask.sum()) / (h * w)
    # Plausible garment area on a page: a few % to ~85 %.
    if area < 0.01:
        a = 0.3
    elif area < 0.03:
        a = 0.7
    elif area > 0.95:
        a = 0.2
    elif area > 0.85:
        a = 0.6
    else:
        a = 1.0
    return float(np.clip(part.closure * a, 0.0, 1.0))


def _pick_figure(part: Partition, cand: np.ndarray, sil: _Sil, head: list[int], notes: list[str]) -> Pick:
    n = part.n
    per = np.maximum(part.adjacency.sum(1), 1)  # outline length per label
    cand_set = set(int(c) for c in cand)
    area = part.area
    excluded: set[int] = set()
    if head:
        enclosed = [l for l in head if part.kinds[l - 1] != KIND_FILL] or head
        face = max(enclosed, key=lambda l: area[l - 1])
        chin = int(part.boxes[face - 1, 3])
        # The head: the face and what ends by the chin (hair, hat); neck and collar bits go back to the body.
        head_full = list(head)
        head = [l for l in head if part.boxes[l - 1, 3] <= chin + 0.03 * sil.h]
        excluded |= set(head)
        face_w = int(part.boxes[face - 1, 2] - part.boxes[face - 1, 0])
        face_area = float(area[face - 1])
        head_h = chin - int(part.boxes[np.asarray(head) - 1, 1].min())
    else:
        head_full = []
        face = 0
        chin = sil.top
        face_w = sil.w
        face_area = 0.0
        head_h = max(1, sil.h // 8)
    # Everything centred above the chin belongs with the head (hat brims, hair strands).
    excluded |= {l for l in cand_set if part.cy[l - 1] < chin}
    # Solid fills (hair, shoes, belt) are not fabric on their own.
    fills = {l for l in cand_set if part.kinds[l - 1] == KIND_FILL}
    body = {l for l in cand_set if l not in excluded and l not in fills}
    # Neck / chest skin: just below the chin, touching a head region centred above the chin (face, hair), not
    # wider than the face. Collar pieces that touch only the neck are left to the reading (what they hang with).
    for l in sorted(body):
        x0, y0, x1, y1 = part.boxes[l - 1]
        if (
            any(part.adjacency[l, h] > 0 and part.cy[h - 1] < chin for h in head_full)
            and y0 <= chin + 0.5 * head_h
            and y1 <= chin + 1.2 * head_h
            and part.boxes[face - 1, 0] <= part.cx[l - 1] <= part.boxes[face - 1, 2]
            and (x1 - x0) <= 1.3 * face_w
            and (face_area == 0 or area[l - 1] <= 1.2 * face_area)
        ):
            excluded.add(l)
    body -= excluded
    if not body:
        notes.append("no body regions below the head; took the whole drawing")
        scores = np.zeros(n)
        scores[cand - 1] = 1.0
        return Pick(sorted(cand_set), scores, "figure", 0.3, notes)
    torso = torso_point(part, sil)
    fig = Figure(cand, frozenset(excluded), frozenset(fills), (sil.top, sil.bottom, sil.left, sil.right),
                 face_area, torso, float(part.cx[face - 1]) if face else float(torso[0]))
    reading = interpret(part, fig)
    notes += reading.notes
    chosen = set(reading.garment)
    if not chosen:
        notes.append("every body region looked like skin; took the biggest body region")
        chosen = {max(body, key=lambda l: area[l - 1])}
    skin = body - chosen
    # Fills the garment surrounds (buttons, badges) join it.
    g_total = float(area[np.asarray(sorted(chosen)) - 1].sum())
    for l in fills:
        share = sum(part.adjacency[l, g] for g in chosen) / per[l]
        if share >= 0.9 or (share >= 0.6 and area[l - 1] <= 0.005 * g_total):
            chosen.add(l)
    scores = np.zeros(n)
    for l in cand_set:
        if l in reading.p:
            scores[l - 1] = reading.p[l]
        elif l in chosen:
            scores[l - 1] = 0.9
        else:
            scores[l - 1] = 0.05
    # Confidence: the garment should be a sizeable, but not overwhelming, share of the figure.
    share = float(area[np.asarray(sorted(chosen)) - 1].sum()) / max(float(sil.mask.sum()), 1.0)
    conf = 0.75 * part.closure * (1.0 - reading.ambiguity)
    if share < 0.15:
        conf *= 0.6
        notes.append(f"the garment found covers only {share:.0%} of the figure; check it or select it with strokes")
    elif share > 0.85:
        conf *= 0.6
        notes.append(f"the garment found covers {share:.0%} of the figure; skin may be included")
    notes.append(
        "figure detected: head, neck, hands, arms and legs were left out by shape rules; check the pick "
        "(or select with strokes)"
    )
    excl = sorted((excluded | fills | skin) - chosen)
    return Pick(sorted(chosen), scores, "figure", float(np.clip(conf, 0, 1)), notes, excl, reading.toss)


def torso_point(part: Partition, sil: _Sil) -> tuple[int, int]:
    """A point that is on the torso of a standing figure: on the silhouette's centre line, 35 % down its height
    (below the head and shoulders, above the hips), where the row's span is widest-centred."""
    y = int(sil.top + 0.35 * sil.h)
    row = np.flatnonzero(sil.mask[y])
    if not len(row):
        return (int((sil.left + sil.right) / 2), y)
    # The longest run in the row (arms held away from the body make separate runs).
    runs = np.split(row, np.flatnonzero(np.diff(row) > 1) + 1)
    best = max(runs, key=len)
    return (int(best[len(best) // 2]), y)


def figure_confidence(part: Partition, pk: Pick, alternative: "np.ndarray | None") -> tuple[float, list[str]]:
    """A croquis pick's confidence, as a product of checks that fall when the interpretation is doubtful.

    * **stability** (the idea of SAM's stability score): the garment picked at the next gap tolerance should be
      the same; its IoU with this pick, squared, multiplies the confidence;
    * **torso**: the garment should cover the torso (a point on the figure's centre line, 35 % down);
    * **share**: the garment should be a plausible share of the figure (20-80 %);
    * **head**: a head was found at the top (else the figure's layout is a guess);
    * **closure**: the gap that had to be bridged;
    * **coin toss**: ``1 −`` the share of the figure the reading left at p ≈ 0.5 (:attr:`.figure.Reading.toss`):
      a large region there (a shirt's half cut off by a marker's edge) can take the IoU below 0.7.
    Capped at 0.9: a shape-rule interpretation of a figure is never certain.
    """
    notes: list[str] = []
    cand = main_regions(part)
    sil = silhouette(part, cand)
    g = part.mask(pk.chosen)
    conf = 0.9 * part.closure * (1.0 - pk.toss)
    if alternative is not None and alternative.shape == g.shape:
        u = float((g | alternative).sum())
        stab = float((g & alternative).sum()) / u if u else 0.0
        conf *= stab**2
        if stab < 0.9:
            notes.append(f"the garment changes with the gap tolerance (stability {stab:.2f}): the outline is "
                         "ambiguous; check it or select with strokes")
    tx, ty = torso_point(part, sil)
    near = g[max(0, ty - 2): ty + 3, max(0, tx - 2): tx + 3]
    if not near.any():
        conf *= 0.5
        notes.append("the garment found does not cover the figure's torso; check the pick")
    share = float(g.sum()) / max(float(sil.mask.sum()), 1.0)
    if not 0.2 <= share <= 0.8:
        conf *= 0.6
    if not any("head" in n for n in pk.notes) and not pk.excluded:
        conf *= 0.8
    if len(drawing_groups(part)) > 1:
        conf *= 0.6  # several figures: which garment is meant is a guess
    return float(np.clip(conf, 0.0, 0.9)), notes
