"""``build(mask, sketch, grain=…, rotation=…, drape=…) -> Mapping``: one region's texture parameterisation.

Steps (each in its own module): the region's darkness and strokes on an analysis grid (:mod:`.grid`), line evidence
from strokes or interior seams (:mod:`.field`), the smooth doubled-angle field, the least-squares pattern coordinates
(:mod:`.param`), the drape displacement (:mod:`.drape`). The result is a :class:`Mapping` that the canvas builder
(:mod:`garmentstyle.canvas`, as ``RegionSpec.mapping``) and the UI's live preview sample the swatch through, so the
tiled start, the optimisation, the preview and the print-size final all lay the fabric the same way.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..errors import InputError
from . import drape as drape_ops
from . import param
from .field import Evidence, interpolate, line_evidence, oriented, outline_width, stroke_evidence
from .grid import Grid
from .orient import axis_of_angle
from .sample import grid_lookup, wrap_cubic
from .strokes import stroke_map

#: Grain choices besides a strokes image.
GRAINS: tuple[str, ...] = ("straight", "auto")
#: Longest side (cells) of the analysis grid (lines, strokes, drape) and of the solve grid (field, coordinates).
ANALYSIS_SIDE = 384
SOLVE_SIDE = 96
#: Auto needs at least this much interior line (solve-grid cells crossed by a line, per √(region cells)).
MIN_LINE_EVIDENCE = 0.6
#: The garment's length direction (vertical) as a line angle: the straight warp at rotation 0.
VERTICAL = math.pi / 2


@dataclass(frozen=True)
class MappingStats:
    """What was built. Attributes: source ("straight" | "strokes" | "auto" | "straight (fallback)"); seconds;
    evidence (cells of line/stroke evidence used); stretch (median, p95 anisotropy of the mapping; 1 = none);
    scale (median pattern scale; 1 = nominal); drape_capped (factor the drape was scaled by to avoid fold-over)."""

    source: str
    seconds: float = 0.0
    evidence: float = 0.0
    stretch: tuple[float, float] = (1.0, 1.0)
    scale: float = 1.0
    drape_capped: float = 1.0

    def to_dict(self) -> dict:
        return {"source": self.source, "seconds": round(self.seconds, 3), "evidence": round(self.evidence, 1),
                "stretch": [round(s, 3) for s in self.stretch], "scale": round(self.scale, 3),
                "drape_capped": round(self.drape_capped, 3)}


@dataclass(frozen=True, eq=False)
class Mapping:
    """A region's texture parameterisation.

    Attributes:
        maps: ``(2, h, w)`` float32 pattern coordinates ``(U, V)`` in output px at ``grid``'s cell centres, or None
            for the plain straight tiling (then sampling is exactly :func:`garmentstyle.swatch.tile`).
        grid: where ``maps`` lie (output px).
        theta: the straight warp angle (radians) that anchors the pattern's position (from ``rotation``).
        rotation: degrees (kept for the plain tiling).
        stats: :class:`MappingStats`; notes: sentences for the render report.
    """

    maps: Optional[torch.Tensor]
    grid: Optional[Grid]
    theta: float
    rotation: float
    stats: MappingStats
    notes: tuple[str, ...] = ()
    _on: dict = field(default_factory=dict, repr=False)

    def scaled(self, factor: float) -> "Mapping":
        """This mapping for the same sketch drawn ``factor``× larger (a render at another size than the one it was
        built at): the same fabric point lands on the same point of the garment, so a mapping built once on the
        sketch serves the preview and the print-size final alike."""
        if factor <= 0 or not math.isfinite(factor):
            raise InputError(f"mapping: scale factor must be positive; got {factor}")
        if self.maps is None or factor == 1:
            return self
        return Mapping(self.maps * factor, self.grid.scaled(factor), self.theta, self.rotation,  # type: ignore
                       self.stats, self.notes)

    def _maps_on(self, device: torch.device) -> torch.Tensor:
        key = str(device)
        if key not in self._on:
            self._on[key] = self.maps.to(device)  # type: ignore[union-attr]
        return self._on[key]

    def coordinates(self, frame: Any, *, zoom: float, swatch_size: tuple[int, int],
                    device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Swatch-pixel coordinates ``(u, v)`` ``(H, W)`` of every pixel of ``frame`` (a
        :class:`garmentstyle.canvas.CanvasFrame`) for a pattern of ``zoom`` output px per swatch px."""
        ys, xs = frame.output_grid(device)
        ax = frame.offset[0] + frame.origin[0] / frame.factor  # the pattern's anchor in output px
        ay = frame.offset[1] + frame.origin[1] / frame.factor
        if self.maps is None:
            U, V = param.straight_coordinates(xs.double(), ys.double(), self.theta)
        else:
            g = self.grid
            UV = grid_lookup(self._maps_on(torch.device(device)), xs, ys, x0=g.x0, y0=g.y0, cell=g.cell)
            U, V = UV[0].double(), UV[1].double()
        U0, V0 = param.straight_coordinates(np.float64(ax), np.float64(ay), self.theta)
        h, w = swatch_size
        u = (U - float(U0)) / zoom - 0.5 - frame.shift[0] * w
        v = (V - float(V0)) / zoom - 0.5 - frame.shift[1] * h
        return u.float(), v.float()

    def sample(self, region: Any, frame: Any) -> torch.Tensor:
        """The region's fabric over ``frame``: ``(1, 3, H, W)`` in [0, 1] (the canvas builder's hook)."""
        return self.sample_swatch(region.swatch, zoom=region.zoom, frame=frame)

    def sample_swatch(self, swatch: torch.Tensor, *, zoom: float, frame: Any) -> torch.Tensor:
        """``swatch`` ``(1, 3, h, w)`` laid through the mapping over ``frame`` at ``zoom`` output px per swatch px."""
        u, v = self.coordinates(frame, zoom=zoom, swatch_size=tuple(swatch.shape[-2:]), device=swatch.device)
        return wrap_cubic(swatch, u, v, zoom=zoom * frame.factor)

    def preview(self, swatch: torch.Tensor, *, zoom: float, size: tuple[int, int]) -> torch.Tensor:
        """The fabric over a whole image of ``size`` ``(H, W)`` (output px), anchored at its centre as a render is:
        the live preview. ``(1, 3, H, W)``."""
        from ..canvas import CanvasFrame

        H, W = size
        return self.sample_swatch(swatch, zoom=zoom, frame=CanvasFrame(size=(H, W), origin=(W / 2.0, H / 2.0)))


def _darkness(sketch: Any, size: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` darkness in [0, 1] of the sketch relative to its paper (1 = black)."""
    if isinstance(sketch, torch.Tensor):
        t = sketch.detach().cpu().float()
        lum = (t[0] * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0) if t.ndim == 4 else t
        lum = lum.numpy()
    else:
        lum = np.asarray(sketch, dtype=np.float64)
        if lum.ndim == 3:
            lum = lum[..., :3] @ np.array([0.299, 0.587, 0.114])
        if lum.max(initial=0) > 1.5:  # 0…255 data (a resampled 0…1 mask may overshoot 1 a little)
            lum = lum / 255.0
    if lum.shape != tuple(size):
        raise InputError(f"mapping: the sketch is {lum.shape[1]}×{lum.shape[0]} but the mask {size[1]}×{size[0]}")
    paper = max(0.05, float(np.percentile(lum[:: max(1, lum.shape[0] // 400), :: max(1, lum.shape[1] // 400)], 98)))
    return np.clip(1.0 - lum / paper, 0.0, 1.0)


def _evidence(grain: Any, mask: np.ndarray, ink_a: np.ndarray, region_a: np.ndarray, grid: Grid,
              notes: list[str]) -> tuple[Evidence | None, str]:
    """Line evidence on the analysis grid for ``grain``, or None (with a note) to keep the straight grain."""
    if isinstance(grain, str) and grain == "auto":
        ev = line_evidence(ink_a, region_a, reference=axis_of_angle(VERTICAL))
        # Line length counted in cells of the solve grid (~SOLVE_SIDE a side whatever the sketch's resolution), so a
        # preview-size and a print-size sketch decide alike; relative to the region's size in those cells.
        f = max(1, math.ceil(max(grid.shape) / SOLVE_SIDE))
        line_cells = float((ev.pooled(f).weight > 0.02).sum())
        region_cells = float((grid.coarser(f).pool(mask) >= 0.5).sum())
        if line_cells < MIN_LINE_EVIDENCE * math.sqrt(max(region_cells, 1.0)):
            notes.append("grain=auto: no interior seam or fold lines along the garment in this region; kept the "
                         "straight grain (rotation)")
            return None, "straight (fallback)"
        return ev, "auto"
    strokes, more = stroke_map(grain, mask.shape)
    notes.extend(more)
    band = max(3.0, 0.05 * max(grid.shape))
    ev, problem = stroke_evidence(grid.pool(strokes, how="max"), region_a, band=band)
    if problem:
        notes.append(f"grain strokes: {problem}; kept the straight grain (rotation)")
        return None, "straight (fallback)"
    return ev, "strokes"


def build(mask: Any, sketch: Any, *, grain: Any = "straight", rotation: float = 0.0, drape: float = 0.0) -> Mapping:
    """Build one region's mapping at the render's output resolution.

    Args:
        mask: ``(H, W)`` float in [0, 1] (tensor or array), the region at output size.
        sketch: ``(1, 3, H, W)`` tensor or ``(H, W)`` / ``(H, W, 3)`` array in [0, 1], the sketch at output size.
        grain: "straight" (the plain tiling), "auto" (from the region's interior seams and folds), or grain
            strokes: a path / image / array the sketch's shape whose non-background pixels are the strokes.
        rotation: degrees CCW, added on top of the field (a bias cut on a curved grain is ``rotation=45``).
        drape: 0 (off) … 1 (strong): the sketch's shading and fold lines displace the pattern.

    Returns: :class:`Mapping` (never NaN; a field that cannot be built falls back to straight, with a note).
    Raises: InputError for unreadable strokes, strokes of another shape, or an empty mask.
    """
    t0 = time.perf_counter()
    m = mask.detach().cpu().float().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask, np.float64)
    if m.max(initial=0) > 1.5:  # 0…255 data (a resampled 0…1 mask may overshoot 1 a little)
        m = m / 255.0
    m = np.clip(np.nan_to_num(m, nan=0.0), 0.0, 1.0)
    region = m >= 0.5
    if not region.any():
        raise InputError("mapping: the region's mask is empty")
    if not (math.isfinite(rotation) and math.isfinite(drape) and drape >= 0):
        raise InputError(f"mapping: rotation must be finite and drape ≥ 0; got {rotation}, {drape}")
    theta_ref = param.warp_angle(rotation)
    notes: list[str] = []
    if isinstance(grain, str) and grain not in GRAINS and not grain.lower().endswith(
            (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")):
        raise InputError(f"grain must be straight, auto or a strokes image file; got {grain!r}")
    straight = isinstance(grain, str) and grain == "straight"
    if straight and drape == 0:
        return Mapping(None, None, theta_ref, rotation, MappingStats("straight", time.perf_counter() - t0))
    ink = _darkness(sketch, m.shape)
    grid = Grid.around(region, max_side=ANALYSIS_SIDE)
    region_a = grid.pool(m) >= 0.5
    ink_a = grid.pool(ink)
    ev, source = (None, "straight") if straight else _evidence(grain, m, ink_a, region_a, grid, notes)
    if ev is None and drape == 0:  # nothing to bend: the plain tiling, exactly
        return Mapping(None, None, theta_ref, rotation, MappingStats(source, time.perf_counter() - t0), tuple(notes))
    Y, X = grid.centres()
    fit = None
    if ev is None:
        theta_a = np.full(grid.shape, theta_ref)
        U, V = param.straight_coordinates(X, Y, theta_ref)
    else:
        f = max(1, math.ceil(max(grid.shape) / SOLVE_SIDE))
        gs = grid.coarser(f)
        prior = axis_of_angle(VERTICAL)
        z, conf = interpolate(ev.pooled(f), complex(prior), decay=0.5 * max(gs.shape))
        theta_s = oriented(z, towards=VERTICAL) - math.radians(rotation)
        inside_s = gs.pool(m) >= 0.5
        if source == "strokes" and float((conf[inside_s] < 0.3).mean()) > 0.01:
            notes.append("grain strokes disagree (they cross at a large angle); the grain turns between them and "
                         "the pattern is distorted where they meet — draw strokes that run the same way")
        Ys, Xs = gs.centres()
        fit = param.solve(theta_s, inside_s, cell=gs.cell, X=Xs, Y=Ys, reference=theta_ref,
                          confidence=conf)
        up = torch.from_numpy(np.stack([fit.U, fit.V, np.cos(theta_s), np.sin(theta_s)]))[None]
        up = F.interpolate(up, scale_factor=f, mode="bilinear", align_corners=False)[0, :, :grid.shape[0], :grid.shape[1]]
        U, V = up[0].numpy(), up[1].numpy()
        theta_a = np.arctan2(up[3].numpy(), up[2].numpy())
    capped = 1.0
    if drape > 0:
        interior = ndimage.distance_transform_edt(region_a) > outline_width(ink_a, region_a) + 1
        d = drape_ops.displacement(np.where(interior, ink_a, 0.0), region_a, theta_a, strength=drape,
                                   cell=grid.cell, size=math.sqrt(float(region.sum())))
        gu, gv = param.gradients(theta_a)
        U = U + gu[..., 0] * d.dx + gu[..., 1] * d.dy
        V = V + gv[..., 0] * d.dx + gv[..., 1] * d.dy
        capped = d.capped
        if capped < 1:
            notes.append(f"drape {drape:g}: scaled to {capped:.2f}× so the pattern never folds over")
    maps = torch.from_numpy(np.stack([U, V]).astype(np.float32))
    if not torch.isfinite(maps).all():  # pragma: no cover - every step above is NaN-safe; a last guard
        notes.append("mapping: the field could not be built (non-finite values); kept the straight grain")
        return Mapping(None, None, theta_ref, rotation, MappingStats("straight (fallback)"), tuple(notes))
    stats = MappingStats(source, time.perf_counter() - t0, ev.amount if ev is not None else 0.0,
                         fit.stretch if fit else (1.0, 1.0), fit.scale if fit else 1.0, capped)
    return Mapping(maps, grid, theta_ref, rotation, stats, tuple(notes))
