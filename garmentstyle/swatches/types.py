"""Typed results of swatch preparation: what was found in a swatch and what was done to it.

Everything here is plain data (floats, tuples, one tile tensor) so the API, the CLI report and the web app read
attributes, never dict keys; :meth:`PrepareReport.to_dict` is the JSON form that goes into render reports.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional

import torch

#: Preparation modes: ``auto`` (leave a seamless swatch bit-identical, else lattice repeat or synthesis), ``off``
#: (the file as given), or force one step.
PREPARE_MODES: tuple[str, ...] = ("auto", "off", "repeat", "synthesize", "flatten")


@dataclass(frozen=True)
class Lattice:
    """A repeat lattice in a swatch photo, in the photo's pixels.

    Attributes:
        a1, a2: the two shortest lattice vectors ``(dx, dy)`` px (x right, y down); for a 1-D pattern (stripes)
            ``a2`` is None and the pattern is continuous along ``direction``.
        strength: normalised autocorrelation at the lattice vectors (1 = an exact repeat, ~0 = none), the weaker.
        rotation: degrees the lattice is turned counter-clockwise from the image axes (the smaller-angle vector).
        skew: degrees by which the angle between ``a1`` and ``a2`` differs from 90 (0 for a 1-D lattice).
        fit: how well the photo matches itself shifted by each lattice vector (correlation over the overlap,
            :func:`garmentstyle.swatches.analyse.shift_fit`), the weaker: 0.95–0.995 for an exact repeat on a phone
            photo, 0.7–0.9 for a repeat only approximate (textured cloth, a near-symmetry), 0.6–0.68 for the lattices
            found on photos of one or two repeats that were not the fabric's. None where not measured.
    """

    a1: tuple[float, float]
    a2: Optional[tuple[float, float]]
    strength: float
    rotation: float
    skew: float
    fit: Optional[float] = None

    @property
    def periods(self) -> tuple[float, ...]:
        """Lengths of the lattice vectors in px."""
        out = [math.hypot(*self.a1)]
        if self.a2 is not None:
            out.append(math.hypot(*self.a2))
        return tuple(out)


@dataclass(frozen=True)
class Analysis:
    """What :func:`garmentstyle.swatches.analyse.analyse` found.

    Attributes:
        size: ``(w, h)`` px of the analysed image.
        seam_ratio: wrap-around seam energy / interior energy (≈1 for a swatch that tiles, ≫1 for a photo crop).
        tiles: whether the swatch already tiles seamlessly (wrap seam like the interior, or an exact repeat).
        light_unevenness: low-frequency luminance variation, std / mean of the heavily smoothed luminance.
        lattice: the repeat lattice, or None (a stochastic texture: denim, knit, tweed…).
        kind: "periodic", "stripes" (1-D lattice), or "stochastic".
    """

    size: tuple[int, int]
    seam_ratio: float
    tiles: bool
    light_unevenness: float
    lattice: Optional[Lattice]
    kind: str


@dataclass(frozen=True)
class PrepareReport:
    """What was found and what was done, per swatch (JSON form via :meth:`to_dict`).

    Attributes:
        mode: the mode asked for; ``action``: what ran ("unchanged", "as given", "repeat", "synthesize:quilting",
            "synthesize:gram-vgg19", "flatten"); ``method``: a sentence naming the method.
        source_size / tile_size: ``(w, h)`` px of the input and of the prepared tile.
        tile_px_per_source_px: tile pixels per input pixel (1 unless the tile was resampled), for true scale.
        repeat_px: width of one pattern repeat in tile px (the tile's width when there is no lattice).
        lattice_px: the lattice vectors found, in source px (None when none was found).
        rotation / skew: degrees corrected (0 when none).
        light_correction: strength of the illumination removed (std of its log; 0 = none removed).
        light_before / light_after: low-frequency luminance variation of the source / the tile.
        seam_before / seam_after: wrap seam ratio of the source / the tile (≈1 = seamless).
        cells: lattice cells averaged into the tile (0 when not the lattice path).
        seconds: time spent; notes: anything the user should know.
    """

    mode: str
    action: str
    method: str
    kind: str
    source_size: tuple[int, int]
    tile_size: tuple[int, int]
    tile_px_per_source_px: float
    repeat_px: float
    lattice_px: Optional[tuple[tuple[float, float], ...]]
    rotation: float
    skew: float
    light_correction: float
    light_before: float
    light_after: float
    seam_before: float
    seam_after: float
    cells: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        if d["lattice_px"] is not None:
            d["lattice_px"] = [[round(c, 3) for c in v] for v in d["lattice_px"]]
        d["notes"] = list(self.notes)
        d["summary"] = self.summary()
        return d

    def summary(self) -> str:
        """One line for the CLI."""
        what = {"unchanged": "already seamless, left unchanged", "as given": "used as given"}.get(self.action)
        if what is None:
            what = f"{self.action} → {self.tile_size[0]}×{self.tile_size[1]} px tile"
        bits = [what]
        if self.lattice_px:
            bits.append("lattice " + " / ".join(f"({x:.1f}, {y:.1f})" for x, y in self.lattice_px) + " px")
        if abs(self.rotation) >= 0.05:
            bits.append(f"rotated {self.rotation:+.2f}°")
        if self.light_correction > 0:
            bits.append(f"light flattened ({self.light_before:.3f} → {self.light_after:.3f})")
        if self.action not in ("unchanged", "as given"):
            bits.append(f"seam {self.seam_before:.2f} → {self.seam_after:.2f}")
        return "; ".join(bits)


@dataclass(frozen=True, eq=False)
class PreparedSwatch:
    """A prepared swatch.

    Attributes:
        tile: ``(1, 3, h, w)`` float RGB in [0, 1], seamless (or the input itself for "unchanged" / "off").
        report: :class:`PrepareReport`.
        lattice: the lattice found in the source (source px), or None; ``outline`` gives the repeat to draw.
        analysis: :class:`Analysis` of the source.
        origin: ``(x, y)`` source px where the cut repeat starts (for outlining it on the upload).
    """

    tile: torch.Tensor
    report: PrepareReport
    lattice: Optional[Lattice]
    analysis: Analysis
    origin: Optional[tuple[float, float]] = None
    cell: Optional[tuple[tuple[float, float], tuple[float, float]]] = None

    def outline(self) -> Optional[list[tuple[float, float]]]:
        """The four corners ``(x, y)`` (source px) of the repeat that was cut, to draw over the upload; None when
        the tile was not cut from a lattice."""
        if self.origin is None or self.cell is None:
            return None
        (ox, oy), ((ux, uy), (vx, vy)) = self.origin, self.cell
        return [(ox, oy), (ox + ux, oy + uy), (ox + ux + vx, oy + uy + vy), (ox + vx, oy + vy)]
