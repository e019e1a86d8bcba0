"""Colourways: recolour a print or fabric to a designer's palette, keeping its texture and shading.

A colourway is the same print in another set of colours. :func:`find_colours` finds the swatch's k dominant colours
by k-means in CIELAB (k = the palette's length), ordered by coverage, largest first; :func:`recolour` maps the i-th
found colour to the i-th palette colour. Each colour is *moved*, not flattened: the pixels of a cluster keep their
offsets from the cluster's mean, with shading treated as a change of reflectance (a fold that is 20 % darker on the
original is 20 % darker on the new colour) and, for chromatic colours, chroma relative to the colour's own (a white
line counted with a red ground stays white, see :func:`_move`). Pixels between two clusters (anti-aliased edges of a
motif, yarn mixing at a weave boundary) are blended between the two moves, so the result is a continuous function of
the input colour and edges do not alias. Lastly the moves' targets are corrected, after clipping to the sRGB gamut,
until the result's own dominant colours meet the palette (ΔE2000 per colour is reported). A palette longer than the
print's distinct colours is noted (:attr:`FoundColours.distinct`): its extra colours can only become shades of a
texture. Measured on 60 cases by bench/bench_colourway.py.

Palettes: ``"#1b2a49/#e4c59e/#ffffff"``, a list of hex strings, CIELAB triples ``[(L, a, b), …]`` or
``"lab(30 5 -20)"`` strings, or the *name* of a palette in a JSON file the designer keeps
(``{"navy-sand": ["#1b2a49", "#e4c59e", "#ffffff"], …}``; the file is passed as ``palette_file`` or named by
``$GARMENTSTYLE_PALETTES``). Colour conversions (sRGB D65 ↔ CIELAB) and ΔE2000 come from ``colour-science``,
imported on first use (it takes a couple of seconds to import, so ``--help`` and renders without a colourway never
pay for it).

Images are ``(1, 3, H, W)`` float RGB in [0, 1] (paths, PIL images and arrays are accepted too).
"""
from __future__ import annotations

import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .cache import LRUCache, content_key
from .errors import InputError, OptionsError
from .resources import register

#: Most colours a palette may have (a print with more dominant colours than this is recoloured in parts).
MAX_COLOURS = 12
#: Environment variable naming the designer's palette JSON file (used when no ``palette_file`` is given).
PALETTE_ENV = "GARMENTSTYLE_PALETTES"
#: Pixels k-means is fitted on (a deterministic random sample; every pixel is then assigned to its nearest centre).
KMEANS_SAMPLE = 40_000
#: Most pixels the target-correction rounds work on (a deterministic sample of a larger image; the result is then
#: made from and measured on every pixel). 24 000 instead of every pixel of a 256 px swatch: recolouring 1.4× faster
#: (0.60–0.71 s), the sweep's pass counts unchanged, ΔE within 0.16 except one rim-only case (bench_colourway.py).
CORRECTION_SAMPLE = 24_000
#: k-means restarts (k-means++ seeding each); the one with the lowest inertia is kept.
KMEANS_RESTARTS = 4
#: Half-width of a cluster's core along the line to its neighbour, in its standard deviations: pixels inside the core
#: take their own cluster's move only; pixels between two cores blend the two moves.
CORE_SIGMAS = 2.0
#: Limits of the spread gain, so a near-black cluster moved to white does not amplify its noise 6×.
GAIN_RANGE = (0.25, 3.0)
#: Weight of the contrast ratio (vs the lightness ratio) in a cluster's spread gain (:func:`_gains`). 1: the
#: texture follows the print's edge contrast alone (:func:`_edge_contrast`), so its edges keep their strength
#: relative to the print's strongest, which is what the edge measure compares. 0.5 (the geometric mean with the
#: L*+16 ratio) shrank the texture of a light colour moved dark below the edge threshold: white / pale-blue stripes
#: moved to navy had edge IoU 0.55 (now 0.95; bench/bench_colourway.py, bench/RESULTS.md).
GAIN_MIX = 1.0
#: L* band a cluster's texture must fit in around its new colour: the gain is capped so the 1st–99th percentile
#: lightness deviations land inside it (:func:`_gains`), else moving a full-range texture to white clips it flat.
GAIN_FIT = (2.0, 98.0)
#: Width (L*) of the soft shoulders at black and white: lightness inside this distance of 0 or 100 is compressed by
#: a tanh instead of clipped, so the last highlights and shadows keep some detail (:func:`_shoulder`).
SHOULDER = 15.0
#: sRGB channel margin (in [0, 1]) an out-of-gamut colour is brought inside by chroma reduction (:func:`_displayed`).
GAMUT_MARGIN = 1.0 / 255.0
#: Bisection steps of that chroma reduction (2⁻¹⁰ of the chroma: below one code value).
GAMUT_STEPS = 10
#: Least gain the fit cap may leave (a colour aimed at the gamut's very end keeps a trace of its texture, carried
#: by the soft shoulder).
FIT_FLOOR = 0.25
#: Bounds of a corrected aim's lightness (:func:`_corrected_targets`): a little past black and white, no further —
#: aiming far past white (L* 109 for #ffffff) buys ΔE only by pressing the whole texture into the shoulder (its
#: spread 10 → 4 L*; bench/bench_colourway.py, tests/unit/test_colourway_gamut.py).
AIM_L = (-3.0, 103.0)
#: Percentiles of a cluster's lightness deviations that :data:`GAIN_FIT` applies to (outliers may still clip).
FIT_PERCENTILES = (1.0, 99.0)
#: Most a highlight's chroma may grow over its colour's (the reflectance model would scale it with lightness).
CHROMA_GAIN_MAX = 1.25
#: Chroma (C*ab) from which a colour's hue is trusted: below [0] chroma offsets are additive, from [1] relative to
#: the colour's own chroma and hue (see :func:`_move`), blended between.
CHROMA_RELATIVE = (8.0, 20.0)
#: Chroma (C*ab) added when scaling a cluster's colour noise, so grey clusters are not divided by ~0.
CHROMA_FLOOR = 5.0
#: Target chroma (C*ab) over which a palette colour's hue is trusted to carry a texture's colour variation as its
#: own saturation (:func:`_shades`): none below [0] (white, greys, near-black: no hue to vary along), fully from [1].
SHADE_HUE = (2.0, 6.0)
#: Percentiles of a colour's sub-colour variation that must fit in the saturation room of its new colour (from
#: grey to the new colour's chroma on the pale side, to the sRGB gamut's surface on the saturated side; the tails
#: beyond are cut at grey or brought in by :func:`_displayed`). (0, 100) let tartan.png's few light lines set the
#: bound: k = 2 edge IoU 0.70, as without; (10, 90): 0.91 (bench/bench_colourway.py).
SHADE_PERCENTILES = (10.0, 90.0)
#: Gaussian smoothing (px) before edge detection in :func:`edges`.
EDGE_SIGMA = 1.0
#: Two found colours closer than this (ΔE2000) are one colour split by its texture.
DUPLICATE_DELTA_E = 3.0
#: A found colour is the anti-aliased edge between two others (:func:`_rims`) when its centre lies within this span
#: of the line between theirs (0 = one, 1 = the other) ...
RIM_SPAN = (0.1, 0.9)
#: ... off that line by less than this fraction of their distance ...
RIM_OFFSET = 0.2
#: ... it covers less than this fraction of the smaller of the two ...
RIM_COVERAGE = 0.5
#: ... and at least this fraction of its pixels touch both (3×3 neighbourhood).
RIM_ADJACENT = 0.8
#: Two neighbouring found colours are one colour split by its texture (no density valley between them) when the
#: emptiest stretch between them holds at least this fraction of the smaller cluster's peak density (:func:`_joined`).
VALLEY_RATIO = 0.5
#: Two joined found colours at least this far apart (ΔE2000) may also be two colours of the print that its weave or a
#: photo's blur mixed (a tartan's twill at a phone's resolution fills the valley between red and navy): the note says
#: so instead of calling them one colour. ΔE alone cannot tell the two apart (denim's light and dark threads reach
#: ΔE 32, bench/RESULTS.md), so the advice is hedged, not dropped.
BLEND_DELTA_E = 20.0
#: Rounds of correction by the measure's own found colours when the palette is still missed (:func:`_recolour`).
POLISH_ROUNDS = 3

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_LAB = re.compile(r"^lab\(\s*([-+0-9.eE]+)[\s,]+([-+0-9.eE]+)[\s,]+([-+0-9.eE]+)\s*\)$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------- palettes
def parse_colour(value: Any) -> str:
    """One palette colour → its canonical text: ``"#rrggbb"`` (lower case) or ``"lab(L a b)"``.

    Accepts ``"#1b2a49"``, ``"#fff"``, ``"lab(30 5 -20)"`` / ``"lab(30,5,-20)"``, or a sequence of three numbers
    (CIELAB L*, a*, b*). Raises :class:`OptionsError` naming the value and the accepted forms.
    """
    if isinstance(value, str):
        text = value.strip()
        m = _HEX.match(text)
        if m and text.startswith("#"):
            h = m.group(1).lower()
            return "#" + ("".join(c * 2 for c in h) if len(h) == 3 else h)
        m = _LAB.match(text)
        if m:
            try:
                return _lab_text(tuple(float(g) for g in m.groups()))
            except ValueError:
                pass
        raise OptionsError(f"colour {value!r} is not a colour; use #rrggbb (e.g. #1b2a49) or lab(L a b) "
                           "(e.g. lab(30 5 -20))")
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return _lab_text(tuple(float(v) for v in value))
    raise OptionsError(f"colour {value!r} is not a colour; use '#rrggbb', 'lab(L a b)' or three numbers [L, a, b]")


def _lab_text(lab: tuple[float, ...]) -> str:
    L, a, b = lab
    if not all(math.isfinite(v) for v in lab):
        raise OptionsError(f"CIELAB colour {lab} has a non-finite value")
    if not 0.0 <= L <= 100.0 or not (-128.0 <= a <= 128.0 and -128.0 <= b <= 128.0):
        raise OptionsError(f"CIELAB colour {lab}: L* must be 0…100 and a*, b* −128…128")
    return "lab(" + " ".join(f"{v:.4g}" for v in (L, a, b)) + ")"


def load_palettes(path: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """Read a designer's palette file: JSON ``{"name": ["#1b2a49", …], …}`` (optionally under ``"palettes"``);
    each palette is a list of colours or one ``"a/b/c"`` string. Returns name → canonical colour strings."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such palette file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable palette JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("palettes"), dict):
        data = data["palettes"]
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: a palette file is a JSON object {{\"name\": [\"#rrggbb\", …], …}}")
    out = {}
    for name, colours in data.items():
        try:
            out[str(name)] = _parse_colours(colours)
        except OptionsError as exc:
            raise InputError(f"{path}: palette {name!r}: {exc}") from None
    return out


def _parse_colours(value: Any) -> tuple[str, ...]:
    items = value.split("/") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise OptionsError(f"a palette is a list of colours, got {type(value).__name__}")
    colours = tuple(parse_colour(v) for v in items)
    if not 1 <= len(colours) <= MAX_COLOURS:
        raise OptionsError(f"a palette has 1…{MAX_COLOURS} colours; got {len(colours)}")
    return colours


def parse_palette(spec: Any, *, palette_file: str | os.PathLike | None = None) -> tuple[str, ...]:
    """A palette in any accepted form → canonical colour strings (cheap: no colour library is imported).

    Args:
        spec: ``"#1b2a49/#e4c59e/#ffffff"``, a list of colours (hex, ``lab(…)``, ``[L, a, b]``), or a palette name
            looked up in ``palette_file`` (default: the file named by ``$GARMENTSTYLE_PALETTES``).
    Raises:
        OptionsError: a malformed colour, too many colours, or an unknown palette name (the message lists the
            names the file has).
    """
    if isinstance(spec, str) and "/" not in spec and not spec.strip().startswith("#") \
            and not spec.strip().lower().startswith("lab("):
        name = spec.strip()
        file = palette_file or os.environ.get(PALETTE_ENV)
        if not file:
            raise OptionsError(f"palette {name!r} is not a colour list and no palette file is given; write colours "
                               f"as #rrggbb/#rrggbb/… or name a palette file (--palette-file, or ${PALETTE_ENV})")
        palettes = load_palettes(file)
        if name not in palettes:
            raise OptionsError(f"palette {name!r} is not in {file}; it has: {', '.join(sorted(palettes))}")
        return palettes[name]
    return _parse_colours(spec)


# --------------------------------------------------------------------------------------------------- colour maths
_COLOUR_MODULE = None


def _colour():
    """The ``colour`` (colour-science) module, imported once, its optional-dependency warnings silenced."""
    global _COLOUR_MODULE
    if _COLOUR_MODULE is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import colour  # noqa: PLC0415 - heavy import kept off the CLI's start-up path
        _COLOUR_MODULE = colour
    return _COLOUR_MODULE


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` sRGB in [0, 1] → CIELAB (D65, 2° observer), float64."""
    c = _colour()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return c.XYZ_to_Lab(c.sRGB_to_XYZ(np.asarray(rgb, dtype=np.float64)))


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """``(..., 3)`` CIELAB → sRGB, *not* clipped (values outside [0, 1] are out of gamut)."""
    c = _colour()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return c.XYZ_to_sRGB(c.Lab_to_XYZ(np.asarray(lab, dtype=np.float64)))


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between ``(..., 3)`` CIELAB arrays (broadcast)."""
    c = _colour()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(c.delta_E(np.asarray(lab1, float), np.asarray(lab2, float), method="CIE 2000"))


def lab_to_hex(lab: Sequence[float]) -> str:
    """The nearest displayable sRGB colour of a CIELAB triple, as ``"#rrggbb"``."""
    rgb = np.clip(lab_to_srgb(np.asarray(lab, float)), 0.0, 1.0)
    return "#" + "".join(f"{int(round(v * 255)):02x}" for v in rgb)


@dataclass(frozen=True)
class PaletteColour:
    """One target colour. ``spec``: as written in recipes; ``lab``: CIELAB; ``hex``: nearest sRGB;
    ``in_gamut``: whether sRGB can show it exactly."""

    spec: str
    lab: tuple[float, float, float]
    hex: str
    in_gamut: bool


def resolve_palette(spec: Any, *, palette_file: str | os.PathLike | None = None) -> tuple[PaletteColour, ...]:
    """A palette in any accepted form → :class:`PaletteColour` s (CIELAB values from colour-science)."""
    out = []
    for s in parse_palette(spec, palette_file=palette_file):
        if s.startswith("#"):
            rgb = np.array([int(s[i:i + 2], 16) / 255.0 for i in (1, 3, 5)])
            lab = srgb_to_lab(rgb)
            out.append(PaletteColour(s, tuple(float(v) for v in lab), s, True))
        else:
            lab = np.array([float(v) for v in s[4:-1].split()])
            rgb = lab_to_srgb(lab)
            ok = bool(np.all(rgb >= -1e-3) and np.all(rgb <= 1 + 1e-3))
            out.append(PaletteColour(s, tuple(float(v) for v in lab), lab_to_hex(lab), ok))
    return tuple(out)


# --------------------------------------------------------------------------------------------------- found colours
@dataclass(frozen=True)
class FoundColour:
    """A dominant colour: ``lab`` (cluster mean, CIELAB), ``hex`` (sRGB), ``coverage`` (fraction of pixels)."""

    lab: tuple[float, float, float]
    hex: str
    coverage: float


@dataclass(frozen=True, eq=False)
class FoundColours:
    """The k dominant colours of an image, largest coverage first.

    Attributes:
        colours: one :class:`FoundColour` per cluster.
        labels: ``(H, W)`` int, the cluster (index into ``colours``) of every pixel; -1 outside the mask.
        spreads: ``(k,)`` each cluster's standard deviation in CIELAB (per axis, isotropic; robust: from the median
            distance to the centre).
        notes: e.g. that two found colours are one colour split by its texture.
        joined: ``(k, k)`` bool, True where two found colours have no density valley between them (one colour split
            by its texture or shading, see :func:`_joined`): the palette is then longer than the print's colours, and
            those palette colours can only become the texture's light and dark shades. ``None``: no pair is joined.
    """

    colours: tuple[FoundColour, ...]
    labels: np.ndarray
    spreads: np.ndarray
    notes: tuple[str, ...] = ()
    joined: np.ndarray | None = None

    @property
    def distinct(self) -> int:
        """How many distinct colours the k found ones are (groups of joined colours count once)."""
        if self.joined is None:
            return len(self.colours)
        from scipy.sparse.csgraph import connected_components

        return int(connected_components(np.asarray(self.joined, dtype=bool), directed=False)[0])

    @property
    def centres(self) -> np.ndarray:
        """``(k, 3)`` CIELAB cluster means."""
        return np.array([c.lab for c in self.colours], dtype=np.float64)


def _image_array(image: Any) -> np.ndarray:
    """Anything :func:`garmentstyle.io.load_image` reads → ``(H, W, 3)`` float64 sRGB in [0, 1]."""
    from . import io

    t = io.load_image(image)
    return io.tensor_to_array(t).astype(np.float64)


def _kmeans(samples: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``(M, 3)`` → ``(k, 3)`` centres: scipy's k-means (k-means++ seeding), best of :data:`KMEANS_RESTARTS`."""
    from scipy.cluster.vq import kmeans2

    best: tuple[float, np.ndarray] | None = None
    for r in range(KMEANS_RESTARTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "one of the clusters is empty": handled below by coverage 0
            centres, lab = kmeans2(samples, k, iter=30, minit="++", rng=np.random.default_rng(seed + r))
        inertia = float(((samples - centres[lab]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, centres)
    return best[1]


def _nearest(lab: np.ndarray, centres: np.ndarray, chunk: int = 262_144) -> np.ndarray:
    """Index of the nearest centre for each of ``(N, 3)`` pixels (chunked to bound memory)."""
    out = np.empty(len(lab), dtype=np.int64)
    for s in range(0, len(lab), chunk):
        d2 = ((lab[s:s + chunk, None, :] - centres[None]) ** 2).sum(-1)
        out[s:s + chunk] = d2.argmin(1)
    return out


def _sample_index(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _find_in_lab(lab: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(N, 3)`` Lab → (centres ``(k, 3)``, labels ``(N,)``, counts ``(k,)``, spreads ``(k,)``), by coverage."""
    centres = _kmeans(lab[_sample_index(len(lab), KMEANS_SAMPLE, seed)], k, seed)
    labels = _nearest(lab, centres)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    for j in range(k):  # the full-image mean of each cluster (the sample's centre is an estimate)
        if counts[j]:
            centres[j] = lab[labels == j].mean(0)
    order = sorted(range(k), key=lambda j: (-counts[j], -centres[j, 0]))
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    labels, centres, counts = remap[labels], centres[order], counts[order]
    # Robust spread: the median distance to the centre (÷ 1.538, the median of a 3-D unit Gaussian's radius), so
    # the anti-aliased edge pixels a cluster also holds do not widen its core (see _soft_weights).
    spreads = np.array([float(np.median(np.linalg.norm(lab[labels == j] - centres[j], axis=1))) / 1.538
                        if counts[j] else 0.0 for j in range(k)])
    return centres, labels, counts, spreads


def _joined(lab: np.ndarray, labels: np.ndarray, centres: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(k, k)`` bool: found colours i, j are one colour split by texture — the pixels of the two clusters,
    projected on the line between their centres, show no valley: the emptiest of the middle bins holds at least
    :data:`VALLEY_RATIO` of the smaller cluster's peak (a print's two colours have a near-empty gap between them,
    filled only by anti-aliased edges; a denim's light and dark threads form one hump)."""
    k = len(centres)
    joined = np.zeros((k, k), dtype=bool)
    idx = _sample_index(len(lab), KMEANS_SAMPLE, seed)
    x, lx = lab[idx], labels[idx]
    for i in range(k):
        for j in range(i + 1, k):
            sel = (lx == i) | (lx == j)
            axis = centres[j] - centres[i]
            D = float(np.linalg.norm(axis))
            if D < 1e-6:
                joined[i, j] = joined[j, i] = True
                continue
            if not (lx == i).any() or not (lx == j).any():
                continue
            u = ((x[sel] - centres[i]) @ axis) / D ** 2  # 0 at centre i, 1 at centre j
            h = np.histogram(u, bins=20, range=(-0.25, 1.25))[0].astype(np.float64)
            peak = min(h[3:8].max(), h[12:17].max())  # around u = 0 and u = 1
            joined[i, j] = joined[j, i] = peak > 0 and h[7:13].min() >= VALLEY_RATIO * peak
    return joined


def find_colours(image: Any, k: int, *, mask: Any = None, seed: int = 0) -> FoundColours:
    """The ``k`` dominant colours of ``image``, by k-means clustering in CIELAB, largest coverage first.

    Args:
        image: ``(1, 3, H, W)`` float RGB in [0, 1] (or a path / PIL image / ``(H, W, 3)`` array).
        k: number of colours, 1…:data:`MAX_COLOURS` (a colourway's palette length).
        mask: optional ``(H, W)`` in [0, 1]: only pixels with mask ≥ 0.5 count (e.g. the fabric of one region).
        seed: k-means seed (the result is deterministic for a given seed).

    Returns:
        :class:`FoundColours`.
    """
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_COLOURS:
        raise OptionsError(f"k must be an integer 1…{MAX_COLOURS}; got {k!r}")
    rgb = _image_array(image)
    H, W = rgb.shape[:2]
    lab = srgb_to_lab(rgb).reshape(-1, 3)
    inside = np.ones(H * W, dtype=bool)
    if mask is not None:
        from . import io

        inside = io.load_mask(mask, size=(H, W), name="colour mask").numpy().reshape(-1) >= 0.5
    if int(inside.sum()) < 4 * k:
        raise InputError(f"only {int(inside.sum())} pixels to find {k} colours in; use a larger image or region")
    centres, lab_labels, counts, spreads = _find_in_lab(lab[inside], k, seed)
    labels = np.full(H * W, -1, dtype=np.int64)
    labels[inside] = lab_labels
    colours = tuple(FoundColour(tuple(float(v) for v in centres[j]), lab_to_hex(centres[j]),
                                float(counts[j] / counts.sum())) for j in range(k))
    notes = []
    joined = np.zeros((k, k), dtype=bool)
    if k > 1:
        de = delta_e2000(centres[:, None, :], centres[None, :, :])
        joined = _joined(lab[inside], lab_labels, centres, seed)
        for i in range(k):
            for j in range(i + 1, k):
                joined[i, j] = joined[j, i] = joined[i, j] or de[i, j] < DUPLICATE_DELTA_E or not counts[j]
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k) if joined[i, j]]
        rims = _rims(labels.reshape(H, W), centres, counts)
        for m, i, j in rims:  # a rim is no colour of its own: counted with the nearer of the two it lies between
            n = i if de[m, i] <= de[m, j] else j
            joined[m, n] = joined[n, m] = True
        found = FoundColours(colours, labels.reshape(H, W), spreads, (), joined)
        if pairs:
            notes.append(_joined_note(k, found.distinct, pairs, de))
        elif rims:
            m, i, j = rims[0]
            notes.append(f"the image has fewer than {k} distinct colours ({found.distinct}: found colour {m + 1} "
                         f"({100 * colours[m].coverage:.1f} %) is the anti-aliased edge between colours {i + 1} and "
                         f"{j + 1}, not a colour of the print); its palette colour can only outline the motifs; use "
                         f"{_palette_of(found.distinct)}")
    return FoundColours(colours, labels.reshape(H, W), spreads, tuple(notes), joined)


def _joined_note(k: int, distinct: int, pairs: list[tuple[int, int]], de: np.ndarray) -> str:
    """The note for found colours with no density valley between them (``pairs``, ΔE2000 matrix ``de``)."""
    i, j = pairs[0]
    if all(de[p] < BLEND_DELTA_E for p in pairs):
        return (f"the image has fewer than {k} distinct colours ({distinct}: found colours {i + 1} and {j + 1}, "
                f"ΔE {de[i, j]:.1f} apart, are one colour split by its texture or shading); those palette colours "
                f"become the texture's light and dark shades; use {_palette_of(distinct)} to keep the print's "
                "structure")
    i, j = max(pairs, key=lambda p: de[p])
    return (f"the image may have fewer than {k} distinct colours: found colours {i + 1} and {j + 1}, ΔE "
            f"{de[i, j]:.1f} apart, have no clear gap between them — one colour split by its texture or shading, "
            "or two colours mixed by the weave or a photo's blur; if they are one colour, use "
            f"{_palette_of(distinct)} to keep the print's structure; if they are two, each still takes its own "
            "palette colour, and a sharper photo (or the print's own file) tells them apart")


def _palette_of(n: int) -> str:
    """The advice's palette length in words: "a palette of 3 colours", "a single colour" (n = 1)."""
    return "a single colour" if n == 1 else f"a palette of {n} colours"


def _rims(labels: np.ndarray, centres: np.ndarray, counts: np.ndarray) -> list[tuple[int, int, int]]:
    """Found colours that are the anti-aliased edge between two others: ``(m, i, j)`` when colour m's centre lies
    on the line between i's and j's (projection within :data:`RIM_SPAN`, off the line by under
    :data:`RIM_OFFSET` of their distance), it covers under :data:`RIM_COVERAGE` of the smaller of the two, and at
    least :data:`RIM_ADJACENT` of its pixels touch both (3×3): a thin line along their boundary, a mixture of the
    two — not a stripe (a stripe three pixels wide already has pixels that touch one side only) and not a print
    colour (a gingham's crossing is not on the line between its two thread colours' edge, or not that thin).
    ``labels`` ``(H, W)`` (-1 outside the mask)."""
    import cv2  # noqa: PLC0415 - only when colours are found

    k = len(centres)
    near = [cv2.dilate((labels == i).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) for i in range(k)]
    out = []
    for m in range(k):
        own = labels == m
        pair = next(((i, j) for i in range(k) for j in range(i + 1, k)
                     if m not in (i, j) and counts[m] < RIM_COVERAGE * min(counts[i], counts[j])
                     and _on_segment(centres[m], centres[i], centres[j])
                     and float((near[i] & near[j])[own].mean()) >= RIM_ADJACENT), None) if own.any() else None
        if pair is not None:
            out.append((m, *pair))
    return out


def _on_segment(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether CIELAB ``c`` lies between ``a`` and ``b``: projection within :data:`RIM_SPAN`, off the line by less
    than :data:`RIM_OFFSET` of their distance."""
    axis = b - a
    d2 = float(axis @ axis)
    if d2 < 1e-9:
        return False
    t = float((c - a) @ axis) / d2
    off = float(np.linalg.norm(c - (a + t * axis))) / d2 ** 0.5
    return RIM_SPAN[0] < t < RIM_SPAN[1] and off < RIM_OFFSET


# --------------------------------------------------------------------------------------------------- recolouring
def _shoulder(L: np.ndarray) -> np.ndarray:
    """Lightness ``L`` with soft shoulders: identity on [S, 100 − S] (S = :data:`SHOULDER`), above and below a tanh
    that approaches 100 and 0 without reaching them — continuous with slope 1, so nothing is flattened at the
    gamut's ends (a hard clip maps every highlight past 100 to one white)."""
    hi, lo = 100.0 - SHOULDER, SHOULDER
    out = np.where(L > hi, hi + SHOULDER * np.tanh((L - hi) / SHOULDER), L)
    return np.where(L < lo, lo - SHOULDER * np.tanh((lo - L) / SHOULDER), out)


def _move(lab: np.ndarray, mu: np.ndarray, target: np.ndarray, gain: float,
          shade: "_Shade | None" = None) -> np.ndarray:
    """Move pixels ``(N, 3)`` of a cluster with mean ``mu`` so the cluster's mean becomes ``target`` (CIELAB), their
    offsets from the mean scaled by ``gain`` (see :func:`_gains`).

    Lightness keeps its offset (× gain). Chroma is a blend of two models, by how chromatic the old colour is
    (:func:`_chroma_weight`):

    - *relative* (chromatic clusters): a pixel's chroma along the old colour's hue, as a fraction of the old colour's
      chroma, becomes that fraction of the new colour's chroma along the new hue; the part across the old hue (hue
      noise) is turned with the hue and scaled like the colour. A pixel less saturated than its colour (a white
      overcheck line counted with a red ground) thus stays less saturated: it can never swing past grey into the
      complementary hue, which an additive offset does (white lines on red came out cyan).
    - *additive* (near-grey clusters, where the old hue is noise): shading is a change of reflectance — scaling a
      colour's XYZ by ρ scales L*+16, a* and b* alike by ρ^⅓ — so the shading part of a pixel's chroma follows the
      new colour (t_ab·r', r' its new relative lightness) and the rest keeps its offset, scaled down when the new
      colour is greyer.

    ``shade`` (:func:`_shades`): the colour's sub-colour variation in chroma, as far as its lightness gain was
    capped, is carried by the new colour's own saturation instead of as a tint (see :class:`_Shade`).
    """
    if shade is not None:
        p = (lab[:, 1:] - mu[None, 1:]) @ shade.axis - shade.offset
        lab = lab.copy()
        lab[:, 1:] -= (shade.taken * p)[:, None] * shade.axis[None]
    L = _shoulder(target[0] + gain * (lab[:, 0] - mu[0]))
    r = np.minimum((lab[:, 0] + 16.0) / (mu[0] + 16.0), CHROMA_GAIN_MAX)
    r_new = np.minimum((L + 16.0) / (target[0] + 16.0), CHROMA_GAIN_MAX)
    c_mu, c_t = math.hypot(mu[1], mu[2]), math.hypot(target[1], target[2])
    s_c = gain * min(1.0, (c_t + CHROMA_FLOOR) / (c_mu + CHROMA_FLOOR))
    ab = target[None, 1:] * r_new[:, None] + s_c * (lab[:, 1:] - mu[None, 1:] * r[:, None])
    w = _chroma_weight(c_mu)
    if w > 0.0:
        u = mu[1:] / c_mu
        ut = target[1:] / c_t if c_t > 1e-6 else u
        along = lab[:, 1:] @ u
        across = lab[:, 1] * -u[1] + lab[:, 2] * u[0]
        rel = np.clip(along / c_mu, 0.0, CHROMA_GAIN_MAX)
        rel_ab = (c_t * rel)[:, None] * ut[None] + (s_c * across)[:, None] * np.array([-ut[1], ut[0]])[None]
        ab = w * rel_ab + (1.0 - w) * ab
    fade = _highlight_fade(L, target[0])
    ab = ab * fade[:, None]
    if shade is not None:  # the variation along the new colour's hue: paler or more saturated, never past grey
        along = ab @ shade.hue
        ab = ab + (np.maximum(along + shade.gain * p * fade, 0.0) - along)[:, None] * shade.hue[None]
    return np.concatenate([L[:, None], ab], axis=1)


def _highlight_fade(L: np.ndarray, t_l: float) -> np.ndarray:
    """``(N,)`` chroma factor for moved lightness ``L``: 1 up to the new colour's lightness ``t_l``, then falling
    linearly to 0 at white (at ``t_l`` + :data:`SHOULDER` for a colour that light): a pixel much lighter than its
    colour — a white overcheck counted with a dark ground, a highlight — is that colour mixed with white, not a
    more saturated version of it (growing its chroma with its lightness tinted white lines teal)."""
    span = max(100.0 - t_l, SHOULDER)
    return np.clip(1.0 - (L - t_l) / span, 0.0, 1.0)


def _chroma_weight(c: float) -> float:
    """Weight of the relative chroma model for a colour of chroma ``c`` (C*ab): 0 up to :data:`CHROMA_RELATIVE`
    [0], 1 from [1] on (a near-grey colour's hue is noise)."""
    lo, hi = CHROMA_RELATIVE
    return float(min(1.0, max(0.0, (c - lo) / (hi - lo))))


def _gains(centres: np.ndarray, targets: np.ndarray, dev: np.ndarray | None = None,
           contrast: float | None = None) -> np.ndarray:
    """``(k,)`` spread gain per cluster: how much its texture and shading are scaled.

    Two reasons to scale: lightness (a dark colour shows a fold as a smaller L* step than a light one: the ratio of
    L*+16) and contrast (when the palette's colours are closer together, or further apart, than the print's, the
    texture inside each colour is scaled alike, so every edge keeps its strength relative to the others and the
    print reads the same). The gain is ``light ** (1 − GAIN_MIX) · contrast ** GAIN_MIX``, limited to
    :data:`GAIN_RANGE`.

    ``contrast``: the print's edge-contrast ratio, new over old (:func:`_edge_contrast`), one factor for every
    cluster. Without it, each cluster's ratio of nearest-colour distances (palette over print) is used — which
    over-amplifies a texture whose nearest old colour is a faint neighbour (a white ground next to a pale grey
    stripe) moved far away: its noise grew past the print's real edges.

    ``dev`` ``(k, 2)``: each cluster's low and high lightness deviation from its centre (:func:`_deviations`).
    Given, the gain is also capped so those deviations fit in :data:`GAIN_FIT` around the new colour: a twill
    spanning L* 8–93 moved to white otherwise has its whole upper half clipped to one value.
    """
    light = np.maximum(targets[:, 0] + 16.0, 1.0) / np.maximum(centres[:, 0] + 16.0, 1.0)
    k = len(centres)
    if k == 1:
        contrast = np.ones(1)
    elif contrast is not None:
        contrast = np.full(k, float(contrast))
    else:
        def nearest(c: np.ndarray) -> np.ndarray:
            d = np.linalg.norm(c[:, None, :] - c[None, :, :], axis=-1) + np.eye(k) * 1e9
            return d.min(1)
        contrast = nearest(targets) / np.maximum(nearest(centres), 1e-6)
    g = np.clip(light ** (1.0 - GAIN_MIX) * contrast ** GAIN_MIX, *GAIN_RANGE)
    if dev is None:
        return g
    return np.minimum(g, _fit_cap(targets[:, 0], dev))


def _fit_cap(t_l: np.ndarray, dev: np.ndarray) -> np.ndarray:
    """``(k,)`` largest gain that keeps deviations ``dev`` ``(k, 2)`` (low ≤ 0 ≤ high) inside :data:`GAIN_FIT`
    around lightness ``t_l`` ``(k,)``; never below :data:`FIT_FLOOR`, so a colour aimed at the gamut's very end
    keeps a trace of its texture (the soft shoulder then carries it)."""
    lo, hi = GAIN_FIT
    room_hi = np.maximum(hi - t_l, 0.0)
    room_lo = np.maximum(t_l - lo, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cap_hi = np.where(dev[:, 1] > 1e-6, room_hi / np.maximum(dev[:, 1], 1e-6), np.inf)
        cap_lo = np.where(dev[:, 0] < -1e-6, room_lo / np.maximum(-dev[:, 0], 1e-6), np.inf)
    return np.maximum(np.minimum(cap_hi, cap_lo), FIT_FLOOR)


def _deviations(lab: np.ndarray, labels: np.ndarray, centres: np.ndarray, spreads: np.ndarray | None = None,
                blend: "_Blend | None" = None) -> np.ndarray:
    """``(k, 2)`` the :data:`FIT_PERCENTILES` of each cluster's lightness minus its centre's (pixels ``(N, 3)``
    CIELAB, ``labels`` ``(N,)``); 0 for an empty cluster.

    Given ``spreads`` (k > 1), the lightness is the one each move is handed (:func:`_soft_weights`: a pixel between
    two cores clamped to its cluster's core edge, the blend doing the rest of the way), so the fit cap bounds what
    a move really scales: the raw pixels' percentiles include the edge ramps toward a far neighbour (a light stripe's
    1st percentile sat 21 L* below it, on its ramp to navy) and capped the gain 2× too low. ``blend``: the pixels'
    :func:`_soft_weights` when already computed (:func:`recolour` computes them once)."""
    k = len(centres)
    if spreads is None or k == 1:
        parts = [lab[labels == j, 0] - centres[j, 0] for j in range(k)]
    else:
        b = blend if blend is not None else _soft_weights(lab, centres, spreads)
        l1, l2 = b.seen_lightness(lab)
        parts = [np.concatenate([l1[b.j1 == j], l2[(b.j2 == j) & (b.w2 > 0)]]) - centres[j, 0] for j in range(k)]
    dev = np.zeros((k, 2))
    for j, d in enumerate(parts):
        if d.size:
            dev[j] = np.percentile(d, FIT_PERCENTILES)
    return np.stack([np.minimum(dev[:, 0], 0.0), np.maximum(dev[:, 1], 0.0)], axis=1)


@dataclass(frozen=True)
class _Shade:
    """How one found colour's sub-colour (chroma) variation is moved (:func:`_shades`).

    A colour of a multicolour print often holds several of the print's colours (a tartan's navy and green squares
    and its light lines found as one colour at k = 2). Its texture is scaled by the print's edge contrast
    (:func:`_gains`) unless that does not fit in L* around its new colour — near white or black the fit cap leaves
    0.25 of it, and the sub-stripes' edges fall below the edge detector's level relative to the palette's own edges
    (tartan.png k = 2: edge IoU 0.70, the cream squares flat). Their difference is mostly one of hue, which the new
    colour would show as foreign tints (navy → lilac and green → lime on cream, tried). Here it becomes the new
    colour's *own* saturation: paler and richer creams.

    Attributes:
        axis: ``(2,)`` unit a*b* direction of the colour's sub-colour variation: across the direction to its nearest
            found colour (variation toward that one is the mixture at their edges, which the blend carries: along
            it, a plaid's red ground turned white at every edge of its dark bands, a halo), signed so that a lighter
            pixel becomes paler (or, where lightness does not follow it, toward the colour's own hue).
        offset: the mean of the pixels' coordinate along ``axis`` (the moves' views), so the variation is centred.
        taken: fraction of that variation taken out of the pixel before the move (then not shown as a tint).
        hue: ``(2,)`` unit a*b* direction of the palette colour's hue.
        gain: chroma added along ``hue`` per unit of the coordinate.
    """

    axis: np.ndarray
    offset: float
    taken: float
    hue: np.ndarray
    gain: float


def _shades(lab: np.ndarray, blend: _Blend, centres: np.ndarray, targets: np.ndarray, dev: np.ndarray,
            contrast: float | None) -> list[_Shade | None]:
    """Per found colour (k > 1), the :class:`_Shade` carrying its sub-colour variation as the palette colour's
    saturation, or ``None``: for a palette colour without a hue (C* below :data:`SHADE_HUE`), and where the
    texture's lightness gain was not capped (its edges then keep their strength already). The amount is the part
    of the print's edge contrast the fit cap took from the lightness, bounded so that the variation's
    :data:`SHADE_PERCENTILES` fit in the saturation room, which keeps the colour's mean
    reachable by the correction rounds. Computed from the palette colours, not the corrected aims, so the rounds
    only move the mean."""
    k = len(centres)
    full = _gains(centres, targets, None, contrast)
    capped = _gains(centres, targets, dev, contrast)
    x1, x2 = blend.seen(lab)
    out: list[_Shade | None] = []
    for j in range(k):
        c_t = math.hypot(targets[j, 1], targets[j, 2])
        lo, hi = SHADE_HUE
        taken = min(1.0, max(0.0, (c_t - lo) / (hi - lo))) * max(0.0, 1.0 - capped[j] / max(full[j], 1e-9))
        own = blend.j1 == j
        core = x1[own] - centres[j]
        if taken <= 0.0 or len(core) < 3:
            out.append(None)
            continue
        axis = _across_neighbour(centres, j)
        if axis is None:  # the nearest colour differs in lightness only: the core's principal chroma direction
            axis = np.linalg.eigh(np.cov(core[:, 1:].T))[1][:, -1]
        p = core[:, 1:] @ axis
        follows = np.corrcoef(p, core[:, 0])[0, 1] if p.std() > 1e-6 and core[:, 0].std() > 1e-6 else 0.0
        sign = -np.sign(follows) if abs(follows) > 0.2 else (np.sign(axis @ centres[j, 1:]) or 1.0)
        axis = axis * sign
        seen = np.concatenate([x1[own], x2[(blend.j2 == j) & (blend.w2 > 0)]])[:, 1:] - centres[j, 1:]
        q = seen @ axis
        offset = float(q.mean())
        q_lo, q_hi = np.percentile(q - offset, SHADE_PERCENTILES)
        hue = targets[j, 1:] / c_t
        room = max(_chroma_room(targets[j, 0], hue) - c_t, 0.0)
        gain = min(taken * full[j], c_t / max(-q_lo, 1e-6), room / max(q_hi, 1e-6))
        out.append(_Shade(axis, offset, taken, hue, float(gain)))
    return out


def _across_neighbour(centres: np.ndarray, j: int) -> np.ndarray | None:
    """Unit a*b* direction across the one from found colour ``j`` to its nearest other found colour (CIELAB
    distance); ``None`` when their chromas are the same (within 10⁻⁶)."""
    others = [i for i in range(len(centres)) if i != j]
    near = others[int(np.argmin(((centres[others] - centres[j]) ** 2).sum(1)))]
    da, db = centres[near, 1:] - centres[j, 1:]
    n = math.hypot(da, db)
    return None if n < 1e-6 else np.array([-db, da]) / n


def _chroma_room(L: float, hue: np.ndarray) -> float:
    """Largest chroma (C*ab, steps of 0.5) at lightness ``L`` along the unit a*b* direction ``hue`` that sRGB shows
    (within :data:`GAMUT_MARGIN`), searched up to C* 150."""
    c = np.arange(0.0, 150.5, 0.5)
    test = _linear_rgb(np.stack([np.full_like(c, L), c * hue[0], c * hue[1]], axis=1))
    lo, hi = _linear_bounds()
    fits = ((test >= lo) & (test <= hi)).all(-1)
    return float(c[np.argmin(fits)]) if not fits.all() else float(c[-1])


def _lab_gradient(lab_img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradient :func:`edges` detects edges on, of an ``(H, W, 3)`` CIELAB image: ``(dx, dy)`` ``(H, W, 3)`` per
    channel after Gaussian smoothing (σ = :data:`EDGE_SIGMA` px, Canny's own smoothing step, which cv2.Canny leaves
    to us) and the magnitude ``(H, W)``, the strongest of L*, a*, b* per pixel."""
    import cv2

    lab = cv2.GaussianBlur(lab_img.astype(np.float32) * np.float32(2.0), (0, 0), EDGE_SIGMA)
    dx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3)
    return dx, dy, np.sqrt(dx ** 2 + dy ** 2).max(axis=2)


def _gradient_level(lab_img: np.ndarray) -> float:
    """The strong-edge level of an ``(H, W, 3)`` CIELAB image as :func:`edges` measures it: the 99th percentile of
    :func:`_lab_gradient`'s magnitude."""
    return float(np.percentile(_lab_gradient(lab_img)[2], 99))


def _edge_contrast(lab: np.ndarray, shape: tuple[int, int], centres: np.ndarray, spreads: np.ndarray,
                   targets: np.ndarray, blend: "_Blend | None" = None) -> float | None:
    """How much the recolouring scales the print's edges: the strong-edge level (:func:`_gradient_level`) of the
    print drawn in the palette's flat colours over that of the print drawn in its own found colours (each pixel the
    :func:`_soft_weights` blend of its two nearest colours, no texture). Scaling every cluster's texture by this one
    factor keeps each texture edge's strength relative to the print's strongest edges, which is what tells a
    print's structure; ``None`` for k = 1 or a flat image. ``blend``: the pixels' :func:`_soft_weights` when
    already computed."""
    if len(centres) < 2:
        return None
    b = blend if blend is not None else _soft_weights(lab, centres, spreads)
    w = b.w2[:, None]
    old = (1.0 - w) * centres[b.j1] + w * centres[b.j2]
    new = (1.0 - w) * targets[b.j1] + w * targets[b.j2]
    g_old = _gradient_level(old.reshape(*shape, 3))
    if g_old <= 1e-6:
        return None
    return _gradient_level(new.reshape(*shape, 3)) / g_old


@dataclass(frozen=True, eq=False)
class _Blend:
    """Each pixel's split between the moves of its two nearest found colours (:func:`_soft_weights`).

    Computed once per recolouring and shared by the fit cap (:func:`_deviations`), the edge-contrast level, the
    correction rounds (on their pixel sample, :meth:`take`) and the final map: each of them used to recompute it
    over every pixel (about 30 ms per 256 px swatch each, plus one per correction round). Compact: the two moves'
    views of a pixel (``x1``, ``x2``) are kept as distances along the line between the two centres, not as copies
    of the image.

    Attributes:
        j1, j2: ``(N,)`` the nearest and second-nearest found colour.
        w2: ``(N,)`` the weight of j2's move (0 inside j1's core).
        t1, t2: ``(N,)`` how far each move's view is clamped along the unit axis from centre j1 to j2: ``x1 = lab −
            t1·e``, ``x2 = lab + t2·e``.
        axes: ``(k, k, 3)`` the unit axis from centre i to centre j.
    """

    j1: np.ndarray
    j2: np.ndarray
    w2: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    axes: np.ndarray

    def take(self, idx: Any) -> "_Blend":
        """The blend of a subset of the pixels (an index array or a slice)."""
        return _Blend(self.j1[idx], self.j2[idx], self.w2[idx], self.t1[idx], self.t2[idx], self.axes)

    def seen(self, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pixels ``(N, 3)`` as j1's and as j2's move sees them (``x1``, ``x2``)."""
        e = self.axes[self.j1, self.j2]
        return lab - self.t1[:, None] * e, lab + self.t2[:, None] * e

    def seen_lightness(self, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Only the L* of :meth:`seen` (what the fit cap needs), without the ``(N, 3)`` copies."""
        e_l = self.axes[self.j1, self.j2, 0]
        return lab[:, 0] - self.t1 * e_l, lab[:, 0] + self.t2 * e_l


def _soft_weights(lab: np.ndarray, centres: np.ndarray, spreads: np.ndarray, chunk: int = 262_144) -> _Blend:
    """For pixels ``(N, 3)``: nearest cluster j1, second j2, the weight w2 of j2, and each pixel as seen by the two
    moves (``x1``, ``x2``), as a :class:`_Blend` (computed in chunks of ``chunk`` pixels to bound memory).

    The pixel is projected on the line from centre j1 to j2 (coordinate u). Inside j1's core (u ≤ c1, c1 =
    :data:`CORE_SIGMAS` × its spread) it belongs to j1 alone; past j2's core to j2; in between the weight ramps
    linearly — the same weight seen from either side of the midpoint, so the mapping is continuous. A pixel beyond
    a core is a *mixture* of the two colours, so each move sees it clamped to the edge of its own core along the
    line (the rest of the way is the blend's job): without that, a move would stretch the mixture along the old
    colours' direction and the edge would overshoot into a third colour.
    (Ramping over the whole distance between two found colours that are one colour split by its texture was tried:
    the result then has no colour clusters left to meet the palette, and edges were not kept better; see
    bench/bench_colourway.py.)
    """
    diff = centres[None, :, :] - centres[:, None, :]
    axes = diff / np.maximum(np.linalg.norm(diff, axis=-1, keepdims=True), 1e-9)
    parts = [_soft_split(lab[s:s + chunk], centres, spreads) for s in range(0, len(lab), chunk)] or \
        [_soft_split(lab[:0], centres, spreads)]
    j1, j2, w2, t1, t2 = (np.concatenate(p) for p in zip(*parts))
    return _Blend(j1, j2, w2, t1, t2, axes)


def _soft_split(lab: np.ndarray, centres: np.ndarray, spreads: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`_soft_weights` on one chunk: ``(j1, j2, w2, t1, t2)``."""
    d2 = ((lab[:, None, :] - centres[None]) ** 2).sum(-1)
    order = np.argsort(d2, axis=1, kind="stable")
    j1, j2 = order[:, 0], order[:, 1]
    axis = centres[j2] - centres[j1]
    D = np.maximum(np.linalg.norm(axis, axis=1), 1e-9)
    e = axis / D[:, None]
    u = ((lab - centres[j1]) * e).sum(1)
    c1, c2 = CORE_SIGMAS * spreads[j1], CORE_SIGMAS * spreads[j2]
    shrink = np.minimum(1.0, 0.9 * D / np.maximum(c1 + c2, 1e-9))  # overlapping clusters: a narrow ramp
    c1, c2 = c1 * shrink, c2 * shrink
    w2 = np.clip((u - c1) / np.maximum(D - c1 - c2, 1e-9), 0.0, 1.0)
    t1 = np.maximum(u - c1, 0.0)  # toward j2 at most to the edge of j1's core
    t2 = np.maximum((D - u) - c2, 0.0)  # toward j1 at most to the edge of j2's core
    return j1, j2, w2, t1, t2


def _map(lab: np.ndarray, centres: np.ndarray, spreads: np.ndarray, targets: np.ndarray,
         dev: np.ndarray | None = None, chunk: int = 262_144, contrast: float | None = None,
         blend: _Blend | None = None, shades: Sequence["_Shade | None"] | None = None) -> np.ndarray:
    """Recoloured CIELAB ``(N, 3)``: each pixel's move(s), blended by :func:`_soft_weights` (``blend``: computed
    before, for these pixels; ``shades``: :func:`_shades`, per found colour).

    (Assigning on a spatially smoothed copy was tried, to calm noise at soft boundaries: it mixed fine two-colour
    textures such as denim into one colour and lowered the measures; bench/bench_colourway.py.)"""
    k = len(centres)
    gains = _gains(centres, targets, dev, contrast)
    if k == 1:
        return _move(lab, centres[0], targets[0], float(gains[0]))
    b_all = blend if blend is not None else _soft_weights(lab, centres, spreads)
    out = np.empty_like(lab)
    for s in range(0, len(lab), chunk):
        b = b_all.take(slice(s, s + chunk))
        x1, x2 = b.seen(lab[s:s + chunk])
        y = np.zeros_like(x1)
        for j in range(k):
            for idx, w, xs in ((b.j1 == j, 1.0 - b.w2, x1), (b.j2 == j, b.w2, x2)):
                sel = idx & (w > 0)
                if sel.any():
                    y[sel] += w[sel, None] * _move(xs[sel], centres[j], targets[j], float(gains[j]),
                                                   shades[j] if shades else None)
        out[s:s + chunk] = y
    return out


def _displayed(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CIELAB ``(N, 3)`` → (sRGB in [0, 1], the CIELAB of what is shown).

    A colour outside sRGB keeps its lightness and hue and loses chroma until it fits, with a margin of
    :data:`GAMUT_MARGIN` (chroma reduction, as CSS Color 4 maps colours into a gamut): clipping each channel
    instead turns a warm highlight's red channel into a flat 1.0 — the texture's light half becomes one colour.
    Only what is left outside after that (lightness beyond 0–100) is clipped."""
    rgb = lab_to_srgb(lab)
    lo, hi = GAMUT_MARGIN, 1.0 - GAMUT_MARGIN
    out = ((rgb < lo) | (rgb > hi)).any(-1) & (lab[:, 0] > 0.0) & (lab[:, 0] < 100.0)
    if out.any():
        sub = lab[out]
        lin_lo, lin_hi = _linear_bounds()
        s_in, s_out = np.zeros(len(sub)), np.ones(len(sub))
        for _ in range(GAMUT_STEPS):  # bisection on the chroma scale: s_in always fits, s_out never does
            s = 0.5 * (s_in + s_out)
            test = _linear_rgb(np.concatenate([sub[:, :1], sub[:, 1:] * s[:, None]], axis=1))
            fits = ((test >= lin_lo) & (test <= lin_hi)).all(-1)
            s_in, s_out = np.where(fits, s, s_in), np.where(fits, s_out, s)
        rgb[out] = lab_to_srgb(np.concatenate([sub[:, :1], sub[:, 1:] * s_in[:, None]], axis=1))
    rgb = np.clip(rgb, 0.0, 1.0)
    return rgb, srgb_to_lab(rgb)


def _linear_rgb(lab: np.ndarray) -> np.ndarray:
    """``(N, 3)`` CIELAB → *linear* sRGB (colour-science's Lab → XYZ and its sRGB matrix; no transfer curve): the
    gamut test only needs which side of the cube's faces a colour is on, and the curve is monotonic — 4× cheaper
    than :func:`lab_to_srgb` inside :func:`_displayed`'s bisection."""
    c = _colour()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xyz = c.Lab_to_XYZ(np.asarray(lab, dtype=np.float64))
    return xyz @ np.asarray(c.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB).T


def _linear_bounds() -> tuple[float, float]:
    """:data:`GAMUT_MARGIN`'s bounds of the sRGB cube in linear light (colour-science's sRGB decoding curve)."""
    c = _colour()
    lo, hi = c.cctf_decoding(np.array([GAMUT_MARGIN, 1.0 - GAMUT_MARGIN]), function="sRGB")
    return float(lo), float(hi)


def _cluster_means(lab: np.ndarray, labels: np.ndarray, k: int, fallback: np.ndarray) -> np.ndarray:
    means = fallback.copy()
    for j in range(k):
        sel = labels == j
        if sel.any():
            means[j] = lab[sel].mean(0)
    return means


def _found_means(shown: np.ndarray, targets: np.ndarray, seed: int, *, quick: bool = False) -> np.ndarray:
    """The k dominant colours of recoloured pixels ``(N, 3)`` as the measure finds them (:func:`match_palette`:
    k-means, matched one to one to ``targets`` by ΔE2000), in the targets' order. ``quick``: one k-means run
    started at the targets (the correction rounds; ~5× cheaper than the measure's seeded restarts)."""
    from scipy.cluster.vq import kmeans2
    from scipy.optimize import linear_sum_assignment

    if quick:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            centres, _ = kmeans2(shown, targets.astype(np.float64), iter=15, minit="matrix")
    else:
        centres = _find_in_lab(shown, len(targets), seed)[0]
    rows, cols = linear_sum_assignment(delta_e2000(targets[:, None, :], centres[None, :, :]))
    return centres[cols[np.argsort(rows)]]


def _bounded_aim(aim: np.ndarray) -> np.ndarray:
    """A corrected aim ``(k, 3)`` CIELAB held within :data:`AIM_L` and ±160 in a*, b* (in place): an unreachable
    target must not run away."""
    aim[:, 0] = np.clip(aim[:, 0], *AIM_L)
    aim[:, 1:] = np.clip(aim[:, 1:], -160.0, 160.0)
    return aim


@dataclass(frozen=True)
class _Aim:
    """The best correction so far (:func:`_corrected_targets`): its worst ΔE2000 to the palette, the aim
    ``(k, 3)`` CIELAB, the shades it used, and which correction (the result's own clusters or the input's)."""

    worst: float
    aim: np.ndarray
    shades: "Sequence[_Shade | None] | None"
    own_clusters: bool


def _corrected_targets(lab: np.ndarray, labels: np.ndarray, found: FoundColours, targets: np.ndarray,
                       dev: np.ndarray | None = None, rounds: int = 4,
                       contrast: float | None = None, blend: _Blend | None = None,
                       shades: Sequence["_Shade | None"] | None = None
                       ) -> tuple[np.ndarray, Sequence["_Shade | None"] | None]:
    """Targets to aim the moves at so that, after blending and gamut clipping, the recoloured image's k dominant
    colours meet the palette (fixed-point rounds on the image, or a pixel sample of a large one), and the
    ``shades`` to use with them: the given ones, or ``None`` when the palette is met only without them.

    Two corrections are run and the aim whose result is closest is kept, judged by the colours found again on the
    result (k-means, as :func:`match_palette` does): (a) each input cluster's recoloured mean is brought to its
    palette colour — exact when the result's clusters are the input's; (b) the result's own found colours are —
    needed when a minor colour the palette has no place for (a tartan's overcheck, a crossing's mix) falls into
    another cluster of the result than of the input. Neither wins on every print (bench/bench_colourway.py).
    When neither reaches ΔE2000 3 with the :func:`_shades`, the better of the two is run again without them, and
    the palette comes first (plaid_red k = 3: ΔE 7.3 with, 2.4 without); only where the palette is missed with
    the shades does this cost rounds (a quarter more of the recolouring's time).
    """
    idx = np.arange(len(lab)) if len(lab) <= CORRECTION_SAMPLE else _sample_index(len(lab), CORRECTION_SAMPLE, 1)
    x, lx = lab[idx], labels[idx]
    bx = blend.take(idx) if blend is not None else None
    k = len(targets)
    best = _Aim(np.inf, targets.copy(), shades, False)

    def rounds_of(use: Sequence["_Shade | None"] | None, own_clusters: bool) -> bool:
        """Run the rounds of one correction; True when the palette is met within 0.3 (no need to go on)."""
        nonlocal best
        aim = targets.copy()
        for _ in range(rounds):
            _, shown = _displayed(_map(x, found.centres, found.spreads, aim, dev, contrast=contrast, blend=bx,
                                       shades=use))
            found_means = _found_means(shown, targets, 0, quick=True)
            worst = float(delta_e2000(found_means, targets).max())
            if worst < best.worst:
                best = _Aim(worst, aim.copy(), use, own_clusters)
            if worst < 0.3:
                return True
            means = found_means if own_clusters else _cluster_means(shown, lx, k, targets)
            aim = _bounded_aim(aim + (targets - means))
        return False

    if not rounds_of(shades, False) and not rounds_of(shades, True) and best.worst > 3.0 and shades is not None:
        rounds_of(None, best.own_clusters)
    return best.aim, best.shades


@dataclass(frozen=True, eq=False)
class RecolourResult:
    """A recoloured image.

    Attributes:
        image: ``(1, 3, H, W)`` float RGB in [0, 1], the input's size.
        found: the input's k dominant colours (largest first); ``found.colours[i]`` became ``targets[i]``.
        targets: the palette, in order.
        delta_e: ΔE2000 per colour between the palette colour and the recoloured image's dominant colour matched to
            it (k-means on the result as displayed, as :func:`match_palette` measures it).
        notes: warnings (out-of-gamut palette colours, fewer distinct colours than the palette).
    """

    image: torch.Tensor
    found: FoundColours
    targets: tuple[PaletteColour, ...]
    delta_e: tuple[float, ...]
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """JSON-serialisable summary for reports: per colour the found hex, coverage, palette colour and ΔE."""
        return {"colours": [{"found": f.hex, "coverage": round(f.coverage, 4), "target": t.spec, "shown": t.hex,
                             "delta_e2000": round(d, 3)}
                            for f, t, d in zip(self.found.colours, self.targets, self.delta_e)],
                "notes": list(self.notes)}


#: Recoloured swatches by (pixels, palette, seed): every render of a batch that uses this swatch and colourway,
#: and every preview after a palette edit, recolours once (an :class:`~garmentstyle.cache.LRUCache`: the web app's
#: worker threads share it).
_CACHE: LRUCache[RecolourResult] = register("colourways", LRUCache(32))


def recolour(image: Any, palette: Any, *, palette_file: str | os.PathLike | None = None,
             found: FoundColours | None = None, seed: int = 0) -> RecolourResult:
    """Recolour ``image`` to ``palette``: the i-th dominant colour becomes the i-th palette colour.

    Args:
        image: ``(1, 3, H, W)`` float RGB in [0, 1] (or a path / PIL image / array).
        palette: see :func:`parse_palette`; its length is k.
        palette_file: where palette names are looked up (default ``$GARMENTSTYLE_PALETTES``).
        found: reuse :func:`find_colours` ``(image, k)`` computed before (a live editor finds them once).
        seed: k-means seed.

    Returns:
        :class:`RecolourResult` (cached per image and palette: repeated calls, e.g. every render of a batch that
        uses this swatch and colourway, cost a hash).
    """
    targets = resolve_palette(palette, palette_file=palette_file)
    rgb = _image_array(image)
    if found is not None:  # the caller's own found colours: not a cache key's worth
        return _recolour(rgb, targets, found, seed)
    return _CACHE.get((content_key(rgb), tuple(t.spec for t in targets), seed),
                      lambda: _recolour(rgb, targets, None, seed))


def _recolour(rgb: np.ndarray, targets: Sequence[PaletteColour], found: FoundColours | None,
              seed: int) -> RecolourResult:
    """:func:`recolour`'s work on the ``(H, W, 3)`` float array, uncached."""
    k = len(targets)
    H, W = rgb.shape[:2]
    if found is None:
        found = find_colours(rgb, k, seed=seed)
    elif len(found.colours) != k or found.labels.shape != (H, W):
        raise OptionsError(f"found colours are for k={len(found.colours)} on {found.labels.shape[::-1]}; the palette "
                           f"has {k} colours and the image is {W}×{H}")
    lab = srgb_to_lab(rgb).reshape(-1, 3)
    labels = found.labels.reshape(-1)
    t_lab = np.array([t.lab for t in targets])
    blend = _soft_weights(lab, found.centres, found.spreads) if k > 1 else None  # once, shared by all four steps
    dev = _deviations(lab, labels, found.centres, found.spreads, blend=blend)
    contrast = _edge_contrast(lab, (H, W), found.centres, found.spreads, t_lab, blend=blend)
    # sub-colours carried as saturation: only where the palette is no longer than the print's distinct colours
    # (else the found colours are one colour's light and dark shades, not the colours of a multicolour print)
    shades = _shades(lab, blend, found.centres, t_lab, dev, contrast) \
        if blend is not None and found.distinct == k else None
    aim, shades = _corrected_targets(lab, labels, found, t_lab, dev, contrast=contrast, blend=blend, shades=shades)
    def shown_as(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The image drawn with aim ``a``, the measure's found colours on it and their worst ΔE2000 to the palette."""
        out, shown = _displayed(_map(lab, found.centres, found.spreads, a, dev, contrast=contrast, blend=blend,
                                     shades=shades))
        m = _found_means(shown, t_lab, seed)
        return out, m, float(delta_e2000(m, t_lab).max())

    out_rgb, means, worst = shown_as(aim)
    for _ in range(POLISH_ROUNDS if worst > 3.0 else 0):
        # the rounds' quick clustering and the measure's seeded one can settle on different clusters: correct the
        # aim by the measure's own colours, keep it only if the measure then improves
        aim2 = _bounded_aim(aim + (t_lab - means))
        rgb2, means2, worst2 = shown_as(aim2)
        if worst2 >= worst:
            break
        aim, out_rgb, means, worst = aim2, rgb2, means2, worst2
    de = tuple(float(v) for v in delta_e2000(means, t_lab))
    notes = list(found.notes)
    notes += [f"palette colour {t.spec} is outside sRGB; shown as the nearest displayable colour {t.hex}"
              for t in targets if not t.in_gamut]
    j = max(range(k), key=lambda i: de[i])  # the palette colour furthest from its mark
    if de[j] > 3.0:
        why = (f"it covers {100 * found.colours[j].coverage:.1f} % of the print, too little to stand out as one "
               "of the result's dominant colours" if found.distinct < k or found.colours[j].coverage < 0.03
               else "the shading and texture of that colour do not fit inside sRGB at that lightness")
        notes.append(f"colour {j + 1} ({targets[j].spec}) reached only ΔE2000 {de[j]:.1f}: {why}")
    image_t = torch.from_numpy(out_rgb.reshape(H, W, 3).astype(np.float32)).permute(2, 0, 1)[None].contiguous()
    return RecolourResult(image_t, found, targets, de, tuple(notes))


# --------------------------------------------------------------------------------------------------- measuring
@dataclass(frozen=True)
class PaletteMatch:
    """How well an image's k dominant colours meet a palette: ``delta_e[i]`` is ΔE2000 between palette colour i and
    the found colour matched to it (optimal one-to-one matching), ``found`` the image's colours."""

    delta_e: tuple[float, ...]
    found: tuple[FoundColour, ...]
    matched: tuple[int, ...]

    @property
    def worst(self) -> float:
        return max(self.delta_e)


def match_palette(image: Any, palette: Any, *, mask: Any = None,
                  palette_file: str | os.PathLike | None = None) -> PaletteMatch:
    """Find ``len(palette)`` dominant colours of ``image`` (inside ``mask``) and match them one-to-one to the palette
    (Hungarian assignment on ΔE2000), e.g. to check a rendered fabric against its colourway."""
    from scipy.optimize import linear_sum_assignment

    targets = resolve_palette(palette, palette_file=palette_file)
    found = find_colours(image, len(targets), mask=mask)
    t_lab = np.array([t.lab for t in targets])
    cost = delta_e2000(t_lab[:, None, :], found.centres[None, :, :])
    rows, cols = linear_sum_assignment(cost)
    return PaletteMatch(tuple(float(cost[r, c]) for r, c in zip(rows, cols)), found.colours,
                        tuple(int(c) for c in cols))


def edges(image: Any, *, low: float = 0.1, high: float = 0.25) -> np.ndarray:
    """``(H, W)`` bool edge map: OpenCV's Canny on the CIELAB gradient (the strongest of L*, a*, b* per pixel),
    after Gaussian smoothing (σ = :data:`EDGE_SIGMA` px) as Canny's detector prescribes.

    Thresholds are fractions of the image's own strong-edge level (99th percentile of the gradient), so a
    recolouring that lowers or raises contrast does not by itself add or remove edges: the map shows *where* the
    print's structure is.
    """
    import cv2

    dx, dy, mag = _lab_gradient(srgb_to_lab(_image_array(image)))
    ref = float(np.percentile(mag, 99)) or 1.0
    scale = 4000.0 / max(ref, 1e-6)  # int16 range for cv2.Canny's gradient input
    gx = np.clip(dx * scale, -32767, 32767).astype(np.int16)
    gy = np.clip(dy * scale, -32767, 32767).astype(np.int16)
    return cv2.Canny(gx, gy, low * 4000.0, high * 4000.0, L2gradient=True) > 0


def structure_iou(a: Any, b: Any, *, tolerance: int = 1) -> float:
    """IoU of the edge maps of two same-size images, an edge pixel counting as matched when the other map has an
    edge within ``tolerance`` px (Canny localises an edge to ±1 px)."""
    import cv2

    ea, eb = edges(a), edges(b)
    if ea.shape != eb.shape:
        raise InputError(f"structure_iou needs two images of one size; got {ea.shape[::-1]} and {eb.shape[::-1]}")
    kernel = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    da = cv2.dilate(ea.astype(np.uint8), kernel) > 0
    db = cv2.dilate(eb.astype(np.uint8), kernel) > 0
    hit = 0.5 * (float((ea & db).sum()) + float((eb & da).sum()))
    union = float(ea.sum() + eb.sum()) - hit
    return 1.0 if union == 0 else hit / union
