#!/usr/bin/env python
"""Draw garmentstyle's bundled samples: garment flats, their region masks, and fabric swatches.

    python samples/make_samples.py            # regenerate everything under samples/
    python samples/make_samples.py --out DIR  # write into DIR/{sketches,masks,swatches} instead

Everything is drawn with numpy + OpenCV + Pillow from the control points below, with fixed seeds, so a re-run gives
byte-identical images.

Sketches
    A garment is a list of :class:`Piece` s in painter's order. Each piece is one closed polygon (its outline, built
    from smooth Catmull-Rom runs that meet at corners) plus its open fold strokes, dashed topstitching and buttons.
    Drawing a piece fills its polygon with paper (so it hides what lies under it), shades it, then inks it. The
    sketch is drawn at ``SS`` x resolution and area-averaged down, which anti-aliases the lines.

Masks
    Rasterised from the very same polygons, in the same order, into a label map (a later piece owns the pixels it
    covers, so seam pixels go to one side). The garment mask is the union of the polygons *plus* the outline stroke;
    stroke pixels outside every polygon go to the nearest part, so the parts are disjoint and cover the garment
    exactly.

Swatches
    256 x 256 RGB, every period divides 256 and all noise is periodic (wrap-around blur), so each tiles seamlessly.

Left/right in part names are as seen in the image (``left_sleeve`` is on the image's left).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

SS = 4  # supersampling factor of the sketch drawing
LINE = 3.0  # outline width, px at output size
FOLD = 2.0  # fold stroke width at its thick end
STITCH = 1.2  # topstitch dash width
SHADE_DEPTH = 0.22  # darkest shading multiplies the paper by 1 - SHADE_DEPTH (≈ 0.8 grey)
_SHIFT = 4  # OpenCV fixed-point bits: coordinates are given in 1/16 px

Pts = np.ndarray  # (N, 2) float array of x, y


# --------------------------------------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------------------------------------
def smooth(points, n: int = 24) -> Pts:
    """A centripetal Catmull-Rom curve through ``points`` (two points give a straight line), ``n`` samples per span."""
    p = np.asarray(points, dtype=np.float64)
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    for i in range(len(p) - 1):
        p0, p1, p2, p3 = ext[i : i + 4]
        t0 = 0.0
        t1 = t0 + max(np.linalg.norm(p1 - p0) ** 0.5, 1e-6)
        t2 = t1 + max(np.linalg.norm(p2 - p1) ** 0.5, 1e-6)
        t3 = t2 + max(np.linalg.norm(p3 - p2) ** 0.5, 1e-6)
        t = np.linspace(t1, t2, n, endpoint=False)[:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    out.append(p[-1:])
    return np.vstack(out)


def path(*runs) -> Pts:
    """Join smooth runs end to start; where two runs meet there is a corner. A run is a point list or a curve."""
    parts = []
    for run in runs:
        c = run if isinstance(run, np.ndarray) and len(run) > 8 else smooth(run)
        if parts and np.allclose(parts[-1][-1], c[0]):
            c = c[1:]
        parts.append(c)
    return np.vstack(parts)


def mirror(points, cx: float):
    """Mirror points about the vertical line x = cx (order kept)."""
    p = np.asarray(points, dtype=np.float64).copy()
    p[:, 0] = 2 * cx - p[:, 0]
    return p


def rev(points):
    return np.asarray(points, dtype=np.float64)[::-1]


def arclength(c: Pts) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))])


def resample(c: Pts, step: float) -> Pts:
    """The curve resampled every ``step`` px of arc length."""
    s = arclength(c)
    t = np.linspace(0, s[-1], max(int(s[-1] / step), 1) + 1)
    return np.stack([np.interp(t, s, c[:, 0]), np.interp(t, s, c[:, 1])], axis=1)


def normals(c: Pts) -> Pts:
    d = np.gradient(c, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    return np.stack([-d[:, 1], d[:, 0]], axis=1)


def offset(c: Pts, dist: float) -> Pts:
    """The curve moved ``dist`` px along its normal (positive = to the right of travel, in image coordinates)."""
    return c + dist * normals(c)


def trim(c: Pts, start: float, end: float | None = None) -> Pts:
    """The curve without its first ``start`` px and last ``end`` px (default: same as start) of arc length."""
    end = start if end is None else end
    c = resample(c, 0.5)
    s = arclength(c)
    return c[(s >= start) & (s <= s[-1] - end)]


def nearest_index(c: Pts, point) -> int:
    return int(np.argmin(np.linalg.norm(c - np.asarray(point, dtype=np.float64), axis=1)))


def sub(c: Pts, start, end) -> Pts:
    """The part of curve ``c`` between the samples nearest to ``start`` and ``end`` (in that order)."""
    i, j = nearest_index(c, start), nearest_index(c, end)
    return c[i : j + 1] if i <= j else c[j : i + 1][::-1]


# --------------------------------------------------------------------------------------------------------------------
# pieces and drawing
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class Fold:
    """An open drape stroke: thick at its first point, tapering to nothing; shaded on one side."""

    pts: list
    side: int = 1  # which side gets the soft shadow (+1 right of travel, -1 left)
    width: float = FOLD
    shade: float = 1.0

    def curve(self) -> Pts:
        return resample(smooth(self.pts), 1.0)


@dataclass
class Piece:
    """One closed region of a flat, drawn in painter's order. ``part`` names the mask it belongs to."""

    part: str
    outline: Pts
    folds: list = field(default_factory=list)
    stitches: list = field(default_factory=list)  # open curves drawn dashed
    lines: list = field(default_factory=list)  # open curves drawn as thin seams
    buttons: list = field(default_factory=list)  # (x, y, r)
    ribs: list = field(default_factory=list)  # thin light strokes (knit ribbing)
    paper: float = 1.0  # base tone: 1 white; lower for the visible inside of a garment
    shade: float = 1.0  # strength of the edge shading
    shadow: tuple = (1.0, 0.45)  # edge shading falls on the edges this vector points at
    tints: list = field(default_factory=list)  # (closed polygon, darkening) soft shadow, no line


@dataclass
class Sketch:
    name: str
    size: tuple  # (width, height)
    pieces: list


def _fx(pts, scale: float = 1.0, origin=(0, 0)) -> np.ndarray:
    """Output-pixel coordinates -> OpenCV fixed point at ``scale`` x (pixel centres stay aligned), relative to
    ``origin`` (in scaled pixels)."""
    p = (np.asarray(pts, dtype=np.float64) + 0.5) * scale - 0.5 - np.asarray(origin, dtype=np.float64)
    return np.round(p * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def _fill(shape, pts, scale: float = 1.0, value=1, dtype=np.uint8, origin=(0, 0)) -> np.ndarray:
    m = np.zeros(shape, dtype)
    cv2.fillPoly(m, [_fx(pts, scale, origin)], value, cv2.LINE_8, _SHIFT)
    return m


def _edge_shade(mask: np.ndarray, direction, reach: float) -> np.ndarray:
    """1 near the mask's edges that ``direction`` points at, fading to 0 about ``reach`` px inside."""
    dx, dy = direction
    m = np.float32(mask)
    moved = cv2.warpAffine(m, np.float32([[1, 0, -dx * reach], [0, 1, -dy * reach]]), m.shape[::-1])
    moved = cv2.GaussianBlur(moved, (0, 0), reach * 0.6)
    return np.clip(1.0 - moved, 0, 1) * m


def _fold_shade(shape, fold: Fold) -> np.ndarray:
    c = fold.curve()
    side = offset(c, 4.0 * fold.side)
    layer = np.zeros(shape, np.float32)
    w = np.linspace(1.0, 0.0, len(c)) ** 0.8 * fold.shade
    for k in range(len(c) - 1):
        p0, p1 = _fx(side[k : k + 2]).reshape(2, 2)
        cv2.line(layer, tuple(int(v) for v in p0), tuple(int(v) for v in p1), float(w[k]), 9, cv2.LINE_AA, _SHIFT)
    return cv2.GaussianBlur(layer, (0, 0), 4.5)


def _taper(c: Pts, w0: float, w1: float) -> Pts:
    """Polygon of a stroke along ``c`` whose width goes from w0 to w1."""
    w = np.linspace(w0, w1, len(c))[:, None] / 2
    n = normals(c)
    return np.vstack([c + n * w, (c - n * w)[::-1]])


def _dashes(c: Pts, dash: float = 5.0, gap: float = 3.5):
    c = resample(c, 0.5)
    s = arclength(c)
    period = dash + gap
    on = (s % period) < dash
    out, start = [], None
    for i, flag in enumerate(on):
        if flag and start is None:
            start = i
        if (not flag or i == len(on) - 1) and start is not None:
            if i - start >= 2:
                out.append(c[start:i])
            start = None
    return out


def render(sketch: Sketch) -> np.ndarray:
    """The sketch as an 8-bit greyscale image."""
    w, h = sketch.size
    big = (h * SS, w * SS)
    canvas = np.ones(big, np.float32)
    for piece in sketch.pieces:
        # paper + shading, computed at output size and scaled up (it is smooth)
        small = _fill((h, w), piece.outline, 1.0, 1.0, np.float32)
        shade = 0.75 * _edge_shade(small, piece.shadow, 26) + 0.3 * _edge_shade(small, (-1, 0.2), 14)
        for fold in piece.folds:
            shade += 1.1 * _fold_shade((h, w), fold)
        shade = np.clip(shade * piece.shade, 0, 1) * small
        tone = piece.paper * (1.0 - SHADE_DEPTH * shade)
        for poly, amount in piece.tints:
            tone *= 1.0 - amount * cv2.GaussianBlur(_fill((h, w), poly, 1.0, 1.0, np.float32), (0, 0), 1.5)
        tone = cv2.resize(tone, big[::-1], interpolation=cv2.INTER_LINEAR)

        # the rest works in the piece's bounding box (plus room for the outline) at SS x
        lo = np.floor(piece.outline.min(axis=0) - 2 * LINE).astype(int).clip(0) * SS
        hi = np.minimum(np.ceil(piece.outline.max(axis=0) + 2 * LINE).astype(int) * SS, big[::-1])
        (x0, y0), (x1, y1) = lo, hi
        view, tone = canvas[y0:y1, x0:x1], tone[y0:y1, x0:x1]
        box = view.shape

        def fx(pts):
            return _fx(pts, SS, (x0, y0))

        region = _fill(box, piece.outline, SS, origin=(x0, y0)) > 0
        view[region] = tone[region]

        ink = np.zeros(box, np.uint8)  # details, kept inside the piece
        grey = np.zeros(box, np.uint8)
        for rib in piece.ribs:
            cv2.polylines(grey, [fx(rib)], False, 160, max(1, round(0.9 * SS)), cv2.LINE_AA, _SHIFT)
        for fold in piece.folds:
            cv2.fillPoly(ink, [fx(_taper(fold.curve(), fold.width, 0.25))], 255, cv2.LINE_AA, _SHIFT)
        for line in piece.lines:
            cv2.polylines(ink, [fx(line)], False, 255, round(0.75 * LINE * SS), cv2.LINE_AA, _SHIFT)
        for stitch in piece.stitches:
            for d in _dashes(stitch):
                cv2.polylines(ink, [fx(d)], False, 255, max(1, round(STITCH * SS)), cv2.LINE_AA, _SHIFT)
        for x, y, r in piece.buttons:  # a button: dark grey disc with a black rim
            centre, radius = tuple(fx([[x, y]]).ravel()), round(r * SS * (1 << _SHIFT))
            cv2.circle(grey, centre, radius, 255, -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(ink, centre, radius, 255, round(LINE * SS), cv2.LINE_AA, _SHIFT)
        ink[~region] = 0
        cv2.polylines(ink, [fx(piece.outline)], True, 255, round(LINE * SS), cv2.LINE_AA, _SHIFT)
        view *= 1.0 - (0.7 / 255) * grey
        view *= 1.0 - (1.0 / 255) * ink
    small = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return np.clip(np.round(small * 255), 0, 255).astype(np.uint8)


def masks(sketch: Sketch) -> dict[str, np.ndarray]:
    """Part name -> bool mask, plus "garment"; rasterised from the pieces' polygons in painter's order."""
    w, h = sketch.size
    names = list(dict.fromkeys(p.part for p in sketch.pieces))
    label = np.zeros((h, w), np.int32)
    stroke = np.zeros((h * SS, w * SS), np.uint8)  # the outlines exactly as render() draws them
    for piece in sketch.pieces:
        cv2.fillPoly(label, [_fx(piece.outline)], names.index(piece.part) + 1, cv2.LINE_8, _SHIFT)
        cv2.polylines(stroke, [_fx(piece.outline, SS)], True, 255, round(LINE * SS), cv2.LINE_AA, _SHIFT)
    stroke = cv2.resize(stroke, (w, h), interpolation=cv2.INTER_AREA)
    garment = (label > 0) | (stroke >= 8)  # every pixel the stroke darkens by 3 % or more
    # stroke pixels outside every polygon take the label of the nearest labelled pixel
    _, (iy, ix) = ndimage.distance_transform_edt(label == 0, return_indices=True)
    label = np.where(garment, label[iy, ix], 0)
    out = {name: label == k + 1 for k, name in enumerate(names)}
    out["garment"] = garment
    return out


# --------------------------------------------------------------------------------------------------------------------
# the garments (coordinates in output pixels; cx is the centre line)
# --------------------------------------------------------------------------------------------------------------------
def dress() -> Sketch:
    """Sleeveless fit-and-flare dress: strapped bodice with a sweetheart neckline, waist seam, flared skirt."""
    W, H, cx = 640, 768, 320.0
    m = lambda pts: mirror(pts, cx)  # noqa: E731

    strap_out, strap_in = (cx - 98, 62), (cx - 70, 62)
    neck_side, v_point = (cx - 74, 170), (cx, 204)
    underarm, waist = (cx - 122, 222), (cx - 96, 338)

    armhole = smooth([strap_out, (cx - 101, 120), (cx - 106, 176), underarm])
    strap_edge = smooth([strap_in, (cx - 69, 120), neck_side])
    sweetheart = smooth([neck_side, (cx - 52, 176), (cx - 24, 184), v_point])
    side = smooth([underarm, (cx - 108, 262), (cx - 98, 306), waist])
    waist_seam = smooth([waist, (cx - 48, 343), (cx, 345), (cx + 48, 343), m([waist])[0]])
    bodice = path(
        [strap_out, strap_in], strap_edge, sweetheart, rev(m(sweetheart)), rev(m(strap_edge)),
        [m([strap_in])[0], m([strap_out])[0]], m(armhole), m(side), rev(waist_seam), rev(side), rev(armhole),
    )
    darts = [Fold([(cx + s * 52, 340), (cx + s * 50, 300), (cx + s * 46, 262)], side=s, width=1.8, shade=0.6)
             for s in (-1, 1)]
    folds_bodice = [Fold([(cx - 112, 246), (cx - 96, 258), (cx - 84, 264)], side=1, width=1.5, shade=0.5),
                    Fold([(cx + 112, 246), (cx + 96, 258), (cx + 84, 264)], side=-1, width=1.5, shade=0.5)]

    # flared skirt: the hem is a chain of soft waves; a fold rises from each cusp between two of them
    hem_l, hem_r = (cx - 262, 692), (cx + 262, 692)
    skirt_side = smooth([waist, (cx - 146, 450), (cx - 212, 580), hem_l])
    base = lambda x: 698 + 18 * (1 - ((x - cx) / 262.0) ** 2)  # noqa: E731  (the hem dips at the centre)
    xs = [hem_l[0], cx - 190, cx - 118, cx - 44, cx + 30, cx + 102, cx + 176, hem_r[0]]
    cusps = [(x, base(x) - (0 if k in (0, len(xs) - 1) else 5)) for k, x in enumerate(xs)]
    hem_runs = []
    for (x0, y0), (x1, y1) in zip(cusps[:-1], cusps[1:]):
        xa, xm, xb = x0 + 0.22 * (x1 - x0), (x0 + x1) / 2, x1 - 0.22 * (x1 - x0)
        hem_runs.append([(x0, y0), (xa, base(xa) + 5), (xm, base(xm) + 8), (xb, base(xb) + 5), (x1, y1)])
    skirt = path(skirt_side, *hem_runs, rev(m(skirt_side)), rev(waist_seam))

    skirt_folds = []
    heights = [300, 235, 330, 260, 310, 230]  # how far each cusp fold climbs
    for (x, y), up in zip(cusps[1:-1], heights):
        lean = (x - cx) * 0.42 * up / 300  # folds fan out from the waist
        bow = 8 if x < cx else -8
        skirt_folds.append(Fold([(x, y - 1), (x - 0.4 * lean + bow, y - 0.5 * up), (x - lean, y - up)],
                                side=1 if x < cx else -1, width=2.1))
    for (x0, _), (x1, _), up in zip(cusps[:-1], cusps[1:], [110, 150, 90, 170, 120, 140, 100]):
        xm = (x0 + x1) / 2 + 0.15 * (x1 - x0)  # a shorter fold inside each wave
        y = base(xm) + 7
        lean = (xm - cx) * 0.2 * up / 150
        skirt_folds.append(Fold([(xm, y - 2), (xm - 0.5 * lean, y - 0.5 * up), (xm - lean, y - up)],
                                side=-1 if xm < cx else 1, width=1.5, shade=0.5))

    pieces = [
        Piece("bodice", bodice, folds=darts + folds_bodice),
        Piece("skirt", skirt, folds=skirt_folds),
    ]
    return Sketch("dress", (W, H), pieces)


def tshirt() -> Sketch:
    """Crew-neck T-shirt with set-in short sleeves and a rib neckband."""
    W, H, cx = 768, 768, 384.0
    m = lambda pts: mirror(pts, cx)  # noqa: E731

    neck = (cx - 64, 116)
    shoulder = (cx - 180, 152)
    underarm = (cx - 170, 326)
    hem = (cx - 178, 694)

    back_neck = smooth([neck, (cx - 32, 127), (cx, 130), (cx + 32, 127), m([neck])[0]])
    armhole = smooth([shoulder, (cx - 168, 238), underarm])
    side = smooth([underarm, (cx - 170, 460), (cx - 174, 600), hem])
    hem_line = smooth([hem, (cx, 700), m([hem])[0]])
    body = path([neck, shoulder], armhole, side, hem_line, rev(m(side)), rev(m(armhole)), [m([shoulder])[0],
                m([neck])[0]], rev(back_neck))

    # sleeve: top edge from the shoulder point, hem square to the sleeve's axis, short underarm seam
    axis = np.array([-np.cos(np.radians(36)), np.sin(np.radians(36))])
    across = np.array([axis[1], -axis[0]])  # points from the top edge towards the underarm
    s = np.array(shoulder)
    cuff_top = s + 150 * axis
    cuff_low = cuff_top + 118 * across
    top_edge = smooth([shoulder, s + 75 * axis + np.array([-3, -4]), cuff_top])
    sleeve_hem = smooth([cuff_top, cuff_low])
    hem_at = lambda t: cuff_top + t * (cuff_low - cuff_top)  # noqa: E731
    under = smooth([cuff_low, (cuff_low + np.array(underarm)) / 2 + np.array([2, -2]), underarm])
    sleeve = path(top_edge, sleeve_hem, under, rev(armhole))
    hem_stitch = [trim(offset(sleeve_hem, -10), 6), trim(offset(sleeve_hem, -14), 6)]
    sleeve_folds = [
        Fold([underarm + np.array([-2, -2]), underarm + np.array([-22, -24]), underarm + np.array([-40, -42])],
             side=1, width=1.6, shade=0.7),  # drag line from the underarm
        Fold([hem_at(0.35), hem_at(0.35) - 20 * axis, hem_at(0.35) - 38 * axis + 3 * across], side=-1, width=1.5,
             shade=0.6),
    ]

    # neckband: a closed rib ring; the inside of the back shows through it
    front_neck = smooth([neck, (cx - 52, 160), (cx - 26, 184), (cx, 190), (cx + 26, 184), (cx + 52, 160),
                         m([neck])[0]])
    neckband = path(back_neck, rev(front_neck))
    in_l, in_r = (cx - 48, 134), (cx + 48, 134)
    inner_back = smooth([in_l, (cx - 24, 143), (cx, 146), (cx + 24, 143), in_r])
    inner_front = smooth([in_r, (cx + 38, 154), (cx + 20, 168), (cx, 172), (cx - 20, 168), (cx - 38, 154), in_l])
    neck_hole = path(inner_back, inner_front)
    ribs = []
    for t in np.linspace(0.06, 0.94, 30):
        i = int(t * (len(front_neck) - 1))
        p = front_neck[i]
        q = inner_front[nearest_index(inner_front, p)]
        ribs.append(np.array([p + (q - p) * 0.25, p + (q - p) * 0.75]))

    body_folds = [
        Fold([underarm + np.array([2, 6]), (cx - 146, 360), (cx - 120, 380)], side=1, width=1.7, shade=0.8),
        Fold([m([underarm])[0] + np.array([-2, 6]), (cx + 146, 360), (cx + 120, 380)], side=-1, width=1.7,
             shade=0.8),
        Fold([(cx - 150, 698), (cx - 140, 650), (cx - 128, 612)], side=1, width=1.6, shade=0.6),
        Fold([(cx + 96, 700), (cx + 90, 660), (cx + 80, 630)], side=-1, width=1.5, shade=0.6),
        Fold([(cx - 172, 520), (cx - 150, 530), (cx - 132, 532)], side=1, width=1.4, shade=0.5),
    ]
    body_stitch = [trim(offset(hem_line, -12), 6), trim(offset(hem_line, -16), 6)]

    pieces = [
        Piece("body", body, folds=body_folds, stitches=body_stitch),
        Piece("left_sleeve", sleeve, folds=sleeve_folds, stitches=hem_stitch, shadow=(-0.3, 1.0)),
        Piece("right_sleeve", rev(m(sleeve)),
              folds=[Fold(m(f.pts), side=-f.side, width=f.width, shade=f.shade) for f in sleeve_folds],
              stitches=[m(c) for c in hem_stitch], shadow=(1.0, 0.8)),
        Piece("neckband", neckband, ribs=ribs, shade=0.4),
        Piece("body", neck_hole, paper=0.92, shade=0.6, shadow=(0, -1)),
    ]
    return Sketch("tshirt", (W, H), pieces)


def trousers() -> Sketch:
    """Straight-leg trousers: waistband, fly, slanted front pockets, pressed creases."""
    W, H, cx = 640, 768, 320.0
    m = lambda pts: mirror(pts, cx)  # noqa: E731

    wb_top, wb_bottom, wb_half = 34.0, 70.0, 124.0
    tl, tr = (cx - wb_half, wb_top + 2), (cx + wb_half, wb_top + 2)
    bl, br = (cx - wb_half - 1, wb_bottom), (cx + wb_half + 1, wb_bottom)
    waistband = path([tl, (cx, wb_top), tr], [tr, br], [br, bl], [bl, tl])
    wb_stitch = [np.array([(tl[0] + 7, wb_top + 7), (tr[0] - 7, wb_top + 7)]),
                 np.array([(bl[0] + 8, wb_bottom - 6), (br[0] - 8, wb_bottom - 6)])]

    crotch = (cx, 292)
    hem_out, hem_in = (cx - 124, 742), (cx - 18, 746)
    side = smooth([bl, (cx - 134, 170), (cx - 132, 300), (cx - 126, 520), hem_out])
    inseam = smooth([hem_in, (cx - 14, 560), (cx - 8, 380), crotch])
    hem = smooth([hem_out, (cx - 70, 746), hem_in])
    leg = path(side, hem, inseam, [crotch, (cx, wb_bottom)], [(cx, wb_bottom), bl])

    # slanted pocket: the opening runs from the waistband to the side seam, which close it
    pocket_top, pocket_end = (cx - 84, wb_bottom), side[nearest_index(side, (cx - 134, 162))]
    opening = smooth([pocket_top, (cx - 94, 112), (cx - 112, 146), pocket_end])
    pocket = path(opening, rev(sub(side, side[0], pocket_end)), [bl, pocket_top])
    pocket_stitch = [trim(offset(opening, -6), 4, 6)]

    fly = smooth([(cx - 26, wb_bottom + 4), (cx - 26, 206), (cx - 21, 226), (cx - 3, 238)])
    leg_folds = [
        Fold([(cx - 71, 744), (cx - 72, 560), (cx - 74, 380), (cx - 78, 200)], side=1, width=1.7, shade=0.4),  # crease
        Fold([(cx - 2, 286), (cx - 20, 268), (cx - 44, 258)], side=-1, width=1.6, shade=0.7),
        Fold([(cx - 5, 312), (cx - 26, 302), (cx - 48, 298)], side=-1, width=1.4, shade=0.6),
        Fold([(cx - 130, 470), (cx - 114, 478), (cx - 98, 480)], side=1, width=1.5, shade=0.6),
        Fold([(cx - 12, 486), (cx - 28, 492), (cx - 44, 492)], side=-1, width=1.4, shade=0.5),
        Fold([(cx - 125, 706), (cx - 112, 694), (cx - 96, 690)], side=1, width=1.4, shade=0.6),
        Fold([(cx - 18, 708), (cx - 34, 698), (cx - 50, 696)], side=-1, width=1.3, shade=0.5),
    ]
    hem_stitch = [trim(offset(hem, -11), 7)]

    def right(fold):
        return Fold(m(fold.pts), side=-fold.side, width=fold.width, shade=fold.shade)

    pieces = [
        Piece("waistband", waistband, stitches=wb_stitch, buttons=[(cx - 4, (wb_top + wb_bottom) / 2, 6.5)],
              shade=0.5),
        Piece("left_leg", leg, folds=leg_folds, stitches=hem_stitch + [fly]),
        Piece("right_leg", rev(m(leg)), folds=[right(f) for f in leg_folds], stitches=[m(c) for c in hem_stitch],
              shadow=(1.0, 0.3)),
        Piece("pocket_left", pocket, stitches=pocket_stitch, shade=0.7),
        Piece("pocket_right", rev(m(pocket)), stitches=[m(c) for c in pocket_stitch], shade=0.7),
    ]
    return Sketch("trousers", (W, H), pieces)


def jacket() -> Sketch:
    """Chore jacket: point collar, button front, long set-in sleeves, two patch pockets."""
    W, H, cx = 768, 768, 384.0
    m = lambda pts: mirror(pts, cx)  # noqa: E731

    neck = (cx - 60, 112)
    shoulder = (cx - 178, 150)
    underarm = (cx - 180, 332)
    hem = (cx - 186, 702)
    edge_x = cx - 14  # the right front laps over the left; its edge is left of the centre line

    armhole = smooth([shoulder, (cx - 170, 246), underarm])
    side = smooth([underarm, (cx - 182, 520), hem])
    hem_line = smooth([hem, (cx, 706), m([hem])[0]])
    hem_l = hem_line[: nearest_index(hem_line, (edge_x, 706)) + 1]
    hem_r = hem_line[nearest_index(hem_line, (edge_x, 706)) :]
    front_edge = smooth([(edge_x, hem_l[-1][1]), (edge_x, 150)])
    left_front = path([neck, shoulder], armhole, side, hem_l, front_edge, [(edge_x, 150), (cx - 40, 124), neck])
    right_front = path(rev(front_edge), hem_r, rev(m(side)), rev(m(armhole)), [m([shoulder])[0], m([neck])[0]],
                       [m([neck])[0], (cx + 20, 128), (edge_x, 150)])

    # collar: spread point collar, one closed shape; the back stand shows as an open roll line
    c_front = (cx, 184)
    tip = (cx - 86, 234)
    leading = smooth([c_front, (cx - 44, 212), tip])
    collar_half = smooth([tip, (cx - 86, 194), (cx - 80, 150), (cx - 70, 120), (cx - 44, 105), (cx, 101)])
    collar = path(leading, collar_half, rev(m(collar_half)), rev(m(leading)))
    # the neck opening: an open loop (it stops short of the point where the collar's leading edges meet)
    neck_loop = smooth([(cx - 9, 170), (cx - 38, 152), (cx - 54, 130), (cx - 40, 117), (cx, 114), (cx + 40, 117),
                        (cx + 54, 130), (cx + 38, 152), (cx + 9, 170)])
    collar_stitch = [trim(offset(leading, 5), 8, 6), trim(offset(m(leading), -5), 8, 6)]

    # long sleeve, slightly bent at the elbow
    elbow_out = (cx - 258, 420)
    cuff_out = (cx - 290, 640)
    cuff_in = (cx - 196, 664)
    top_edge = smooth([shoulder, (cx - 214, 250), elbow_out, cuff_out])
    cuff = smooth([cuff_out, cuff_in])
    under = smooth([cuff_in, (cx - 194, 560), (cx - 188, 440), underarm])
    sleeve = path(top_edge, cuff, under, rev(armhole))
    sleeve_stitch = [trim(offset(cuff, -8), 5), trim(smooth([(cx - 285, 592), (cx - 196, 612)]), 4)]
    sleeve_folds = [
        Fold([(cx - 190, 460), (cx - 212, 450), (cx - 232, 452)], side=-1, width=1.6, shade=0.7),
        Fold([(cx - 191, 490), (cx - 214, 486), (cx - 236, 492)], side=-1, width=1.5, shade=0.6),
        Fold([(cx - 195, 566), (cx - 216, 560), (cx - 232, 564)], side=-1, width=1.4, shade=0.5),
        Fold([(cx - 180, 340), (cx - 200, 356), (cx - 214, 380)], side=1, width=1.5, shade=0.6),
        Fold([(elbow_out[0] + 2, elbow_out[1]), (cx - 236, 428), (cx - 218, 430)], side=1, width=1.5, shade=0.6),
    ]

    # patch pockets with rounded bottom corners; the topstitching is the same U shape, inset
    def pocket_u(x0, x1, y0, y1, r):
        return path([(x0, y0), (x0, y1 - r)], [(x0, y1 - r), (x0 + 0.3 * r, y1 - 0.3 * r), (x0 + r, y1)],
                    [(x0 + r, y1), (x1 - r, y1)], [(x1 - r, y1), (x1 - 0.3 * r, y1 - 0.3 * r), (x1, y1 - r)],
                    [(x1, y1 - r), (x1, y0)])

    pocket = path(pocket_u(cx - 158, cx - 58, 468, 590, 14), [(cx - 58, 468), (cx - 158, 468)])
    pocket_stitch = [pocket_u(cx - 152, cx - 64, 482, 584, 9), np.array([(cx - 153, 477), (cx - 63, 477)])]

    buttons = [(cx, y, 6.5) for y in (204, 300, 396, 492, 588)]
    front_stitch = [np.array([(edge_x + 7, 170), (edge_x + 7, 694)])]
    hem_stitch = [trim(offset(hem_l, -10), 8, 6), trim(offset(hem_r, -10), 14, 8)]
    body_folds = [
        Fold([underarm + np.array([3, 8]), (cx - 150, 372), (cx - 126, 392)], side=1, width=1.7, shade=0.8),
        Fold([(cx - 178, 640), (cx - 160, 620), (cx - 150, 598)], side=1, width=1.4, shade=0.6),
    ]

    def right(fold):
        return Fold(m(fold.pts), side=-fold.side, width=fold.width, shade=fold.shade)

    pieces = [
        Piece("left_front", left_front, folds=body_folds, stitches=hem_stitch[:1]),
        Piece("right_front", right_front, folds=[right(f) for f in body_folds], stitches=hem_stitch[1:] + front_stitch,
              buttons=buttons),
        Piece("left_sleeve", sleeve, folds=sleeve_folds, stitches=sleeve_stitch, shadow=(0.2, 1.0)),
        Piece("right_sleeve", rev(m(sleeve)), folds=[right(f) for f in sleeve_folds],
              stitches=[m(c) for c in sleeve_stitch], shadow=(1.0, 0.6)),
        Piece("pocket_left", pocket, stitches=pocket_stitch, shade=0.6),
        Piece("pocket_right", rev(m(pocket)), stitches=[m(c) for c in pocket_stitch], shade=0.6),
        Piece("collar", collar, lines=[neck_loop], stitches=collar_stitch, shade=0.6, tints=[(neck_loop, 0.1)]),
    ]
    return Sketch("jacket", (W, H), pieces)


SKETCHES = (dress, tshirt, trousers, jacket)


# --------------------------------------------------------------------------------------------------------------------
# swatches (256 x 256, seamless)
# --------------------------------------------------------------------------------------------------------------------
TILE = 256


def _rgb(hex_: str) -> np.ndarray:
    return np.array([int(hex_[i : i + 2], 16) for i in (1, 3, 5)], np.float32) / 255


def periodic_noise(rng, shape, sigma) -> np.ndarray:
    """Zero-mean, unit-std noise that wraps around (blurred with mode='wrap')."""
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return ((n - n.mean()) / (n.std() + 1e-9)).astype(np.float32)


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def weave(warp_rgb, weft_rgb, warp_up, thread_w: float, rng, slub: float = 0.04) -> np.ndarray:
    """Woven cloth from per-pixel warp/weft colours and a warp-on-top map; rounded threads, periodic noise."""
    y, x = np.mgrid[0:TILE, 0:TILE].astype(np.float32)
    # thread cross-section: lighter along the middle of each visible thread
    ux = (x + 0.5) / thread_w % 1.0
    uy = (y + 0.5) / thread_w % 1.0
    round_warp = 0.86 + 0.14 * np.sin(np.pi * ux)
    round_weft = 0.86 + 0.14 * np.sin(np.pi * uy)
    up = warp_up[..., None]
    img = np.where(up, warp_rgb * round_warp[..., None], weft_rgb * round_weft[..., None])
    img *= 1 + slub * periodic_noise(rng, (TILE, TILE), 1.0)[..., None]
    img *= 1 + 0.5 * slub * periodic_noise(rng, (TILE, TILE), 12.0)[..., None]
    return ndimage.gaussian_filter(img, (0.5, 0.5, 0), mode="wrap")


def tartan(rng) -> np.ndarray:
    """A symmetric multi-colour sett woven 2/2 twill: period 128 px (2 px threads)."""
    red, navy, green, black, yellow, white = (_rgb(c) for c in ("#a51f24", "#1c2a55", "#1f5a3a", "#15171c",
                                                                 "#e2c14a", "#ece6d6"))
    half = [(red, 9), (black, 2), (red, 2), (navy, 8), (green, 8), (yellow, 1), (green, 2)]
    sett = half + half[::-1]  # 64 threads
    colours = np.concatenate([np.repeat(c[None], n, axis=0) for c, n in sett])
    colours[31] = colours[32] = white  # a fine white over-check on the pivot
    t = 2
    idx = (np.arange(TILE) // t) % len(colours)
    warp = np.broadcast_to(colours[idx][None, :, :], (TILE, TILE, 3))
    weft = np.broadcast_to(colours[idx][:, None, :], (TILE, TILE, 3))
    y, x = np.mgrid[0:TILE, 0:TILE]
    up = ((x // t + y // t) % 4) < 2
    return weave(warp, weft, up, t, rng)


def houndstooth(rng) -> np.ndarray:
    """Classic houndstooth: 2/2 twill, 4 black / 4 white in warp and weft; 4 px threads, period 32 px."""
    black, white = _rgb("#16161a"), _rgb("#efece4")
    t = 4
    y, x = np.mgrid[0:TILE, 0:TILE]
    tx, ty = x // t, y // t
    warp = np.where(((tx // 4) % 2 == 0)[..., None], black, white)
    weft = np.where(((ty // 4) % 2 == 0)[..., None], black, white)
    up = ((tx - ty) % 4) < 2
    return weave(warp, weft, up, t, rng, slub=0.05)


def denim(rng) -> np.ndarray:
    """Indigo warp over white weft, 2/1 twill rising to the right; 48 threads per 256 px each way."""
    n = 48
    ss = 4
    big = TILE * ss
    y, x = np.mgrid[0:big, 0:big]
    tx = (x * n) // big
    ty = (y * n) // big
    up = ((tx + ty) % 3) != 0  # warp floats over two picks, under one
    indigo = _rgb("#1e3461")
    ecru = _rgb("#a9b2c4")  # white weft, blued a little by the indigo
    warp_var = 1 + 0.10 * rng.standard_normal(n).astype(np.float32)  # per-thread dye variation
    weft_var = 1 + 0.05 * rng.standard_normal(n).astype(np.float32)
    ux = ((x + 0.5) * n / big) % 1.0
    uy = ((y + 0.5) * n / big) % 1.0
    # each warp float spans two picks: brightest mid-float and across the middle of the yarn -> diagonal ridges
    along = (((tx + ty) % 3 - 1) + uy) / 2
    warp = indigo * (warp_var[tx] * (0.62 + 0.3 * np.sin(np.pi * ux)) * (0.7 + 0.45 * np.sin(np.pi * along)))[..., None]
    weft = ecru * (weft_var[ty] * (0.7 + 0.3 * np.sin(np.pi * ux)))[..., None]
    img = np.where(up[..., None], warp, weft).astype(np.float32)
    k = 9  # soften along the twill diagonal so the floats read as ridges
    diag = np.eye(k, dtype=np.float32)[::-1] / k
    img = np.stack([ndimage.convolve(img[..., c], diag, mode="wrap") for c in range(3)], axis=-1)
    img = cv2.resize(img, (TILE, TILE), interpolation=cv2.INTER_AREA)
    # slub along the warp (vertical streaks) and soft fading
    streak = periodic_noise(rng, (TILE, TILE), (14.0, 0.8))
    img *= 1 + 0.07 * streak[..., None]
    fade = periodic_noise(rng, (TILE, TILE), 20.0)
    img = img + 0.05 * np.clip(fade, 0, None)[..., None] * (1 - img)
    img *= 1 + 0.03 * periodic_noise(rng, (TILE, TILE), 0.7)[..., None]
    return img


def stripes(rng) -> np.ndarray:
    """Breton stripes: navy on off-white jersey, period 32 px."""
    navy, white = _rgb("#1d2a57"), _rgb("#f1eee6")
    y, x = np.mgrid[0:TILE, 0:TILE].astype(np.float32)
    band = (y % 32) < 11
    img = np.where(band[..., None], navy, white)
    # jersey: columns of knitted loops (vertical wales) and faint courses
    wale = 0.5 + 0.5 * np.cos(2 * np.pi * (x + 0.5 * (y % 2)) / 4)
    course = 0.5 + 0.5 * np.cos(2 * np.pi * y / 4)
    img = img * (1 - 0.06 * wale[..., None] - 0.03 * course[..., None])
    img *= 1 + 0.025 * periodic_noise(rng, (TILE, TILE), 0.8)[..., None]
    return ndimage.gaussian_filter(img, (0.6, 0.4, 0), mode="wrap")


def polka_dots(rng) -> np.ndarray:
    """White dots on red, staggered grid with period 64 px, anti-aliased."""
    red, white = _rgb("#c1242f"), _rgb("#f6f2ea")
    y, x = np.mgrid[0:TILE, 0:TILE].astype(np.float32) + 0.5
    cover = np.zeros((TILE, TILE), np.float32)
    for ox, oy in ((0, 0), (32, 32)):
        dx = (x - ox + 32) % 64 - 32
        dy = (y - oy + 32) % 64 - 32
        d = np.hypot(dx, dy)
        cover = np.maximum(cover, np.clip(10.5 - d + 0.5, 0, 1))
    img = red * (1 - cover[..., None]) + white * cover[..., None]
    img *= 1 + 0.03 * periodic_noise(rng, (TILE, TILE), 0.8)[..., None]
    img *= 1 + 0.02 * periodic_noise(rng, (TILE, TILE), 10.0)[..., None]
    return img


def gingham(rng) -> np.ndarray:
    """Blue-and-white gingham, plain weave, 16 px checks."""
    blue, white = _rgb("#2f62a8"), _rgb("#f4f2ec")
    t = 1
    y, x = np.mgrid[0:TILE, 0:TILE]
    warp = np.where(((x // 16) % 2 == 0)[..., None], blue, white)
    weft = np.where(((y // 16) % 2 == 0)[..., None], blue, white)
    up = ((x // t + y // t) % 2) == 0
    return weave(warp, weft, up, t, rng, slub=0.03)


def floral(rng) -> np.ndarray:
    """A printed ditsy floral on navy: 5-petal flowers with leaves on a half-drop grid of 64 px cells, small buds
    between them (4 columns, so the half drop closes over 256 px)."""
    ss = 4
    big = TILE * ss
    ground, centre, leaf, leaf_vein = (_rgb(c) for c in ("#1f2b4d", "#f0c04a", "#5f9a6a", "#3f7550"))
    petals = {  # (fill, rim)
        "pink": (_rgb("#f3c9d1"), _rgb("#d9788c")),
        "cream": (_rgb("#f6eedc"), _rgb("#cdb98f")),
        "blue": (_rgb("#b9d0ee"), _rgb("#7894c4")),
    }
    img = np.ones((big, big, 3), np.float32) * ground

    def ellipse(c, axes, angle, colour):
        centre_fx = tuple(int(round(v * ss * 16)) for v in c)
        axes_fx = tuple(int(round(v * ss * 16)) for v in axes)
        cv2.ellipse(img, centre_fx, axes_fx, float(angle), 0, 360, tuple(float(v) for v in colour), -1,
                    cv2.LINE_AA, 4)

    def flower(cx, cy, rot, scale, colours):
        fill, rim = petals[colours]
        for k in range(2):  # two leaves behind the flower
            a = np.radians(rot + 35 + 180 * k)
            lc = (cx + np.cos(a) * 15 * scale, cy + np.sin(a) * 15 * scale)
            ellipse(lc, (9 * scale, 4 * scale), np.degrees(a), leaf)
            ellipse(lc, (7 * scale, 0.6 * scale), np.degrees(a), leaf_vein)
        for k in range(5):
            a = np.radians(rot + 72 * k)
            pc = (cx + np.cos(a) * 7 * scale, cy + np.sin(a) * 7 * scale)
            ellipse(pc, (7.5 * scale, 5 * scale), np.degrees(a), rim)
            ellipse(pc, (6.3 * scale, 4 * scale), np.degrees(a), fill)
        ellipse((cx, cy), (3.6 * scale, 3.6 * scale), 0, centre)

    cell = 64
    motifs = []
    for col in range(TILE // cell):
        for row in range(TILE // cell):
            drop = cell / 2 if col % 2 else 0
            cx, cy = col * cell + cell / 2, row * cell + cell / 4 + drop
            motifs.append((cx, cy, 18 * ((col + 2 * row) % 5), 1.0, "pink" if (row + col) % 2 else "cream"))
            motifs.append((cx + cell / 2, cy + cell / 2 + 4, 40 + 30 * (row % 3), 0.5, "blue"))  # a bud
    for dy in (-TILE, 0, TILE):  # draw every motif with its wrapped copies
        for dx in (-TILE, 0, TILE):
            for cx, cy, rot, scale, colours in motifs:
                flower(cx + dx, cy + dy, rot, scale, colours)
    img = cv2.resize(img, (TILE, TILE), interpolation=cv2.INTER_AREA)
    img *= 1 + 0.025 * periodic_noise(rng, (TILE, TILE), 0.8)[..., None]  # cloth grain under the print
    return img


SWATCHES = {"tartan": tartan, "stripes": stripes, "polka_dots": polka_dots, "houndstooth": houndstooth,
            "denim": denim, "floral": floral, "gingham": gingham}


# --------------------------------------------------------------------------------------------------------------------
def _save(arr: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, compress_level=6)


def main(out_dir: str | Path | None = None) -> Path:
    """Write sketches/, masks/ and swatches/ under ``out_dir`` (default: this script's folder); returns it."""
    out = Path(out_dir) if out_dir is not None else Path(__file__).resolve().parent
    for make in SKETCHES:
        sketch = make()
        _save(render(sketch), out / "sketches" / f"{sketch.name}.png")
        for part, mask in masks(sketch).items():
            _save(mask.astype(np.uint8) * 255, out / "masks" / f"{sketch.name}__{part}.png")
    for i, (name, make) in enumerate(SWATCHES.items()):
        rng = np.random.default_rng(1000 + i)
        _save(_to_u8(make(rng)), out / "swatches" / f"{name}.png")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the samples/ folder)")
    args = parser.parse_args()
    print(main(args.out))
