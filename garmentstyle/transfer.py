"""The guided optimisation: every region's fabric in one image, coarse to fine, on the masks' bounding box only.

Gatys et al. (2017) spatial control: one guidance channel per region, eroded per layer to the neurons whose receptive
field lies inside it (:mod:`garmentstyle.guidance`); one guided Gram matrix per region and layer, matched to that
region's own swatch (:class:`garmentstyle.losses.GuidedStyleLoss`); all regions optimised together in one image.

The stage in four parts, each its own module: :func:`~garmentstyle.plan.plan_render` (crop, work scale, levels,
labels), :func:`~garmentstyle.canvas.region_canvas` (the fabric canvases), :class:`~garmentstyle.losses.
GuidedStyleLoss` (the objective) and :func:`~garmentstyle.optimise.optimise` (L-BFGS / Adam with a fixed check
interval). This module measures the style targets and runs the levels; :mod:`garmentstyle.api` turns files into
tensors and tensors into a :class:`~garmentstyle.api.RenderResult`. Progress and cancel follow
:mod:`garmentstyle.progress`.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F

from . import colour as colour_ops
from . import guidance, losses, resample, swatch as swatch_ops, target_store
from .cache import CacheStats, LRUCache, content_key
from .resources import register
from .canvas import region_canvas, stretch_sampler
from .encoders import Encoder
from .errors import Cancelled
from .metrics import texture_distance
from .optimise import CHECK_EVERY, optimise
from .options import INITS, MAX_SIZE, OPTIMIZERS, POOLINGS, RenderOptions  # noqa: F401 - re-exported
from .plan import (MAX_WORK_PIXELS, MIN_LEVEL_SIDE, RenderPlan, crop_box, level_factors,  # noqa: F401 - re-exported
                   plan_render)
from .precision import autocast_for, targets_autocast_for
from .progress import CancelToken, Progress, ProgressFn, Reporter  # noqa: F401 - re-exported
from .report import LevelReport, TransferReport

#: A level stops early when ``CHECK_EVERY`` L-BFGS iterations lower the loss by less than this fraction.
CONVERGED = 1e-3
#: … or when the (target-normalised) loss is below this: the texture statistics already match.
CONVERGED_ABS = 1e-5
#: … or when the style loss is within this factor of the noise floor (another sample of the swatch's loss).
FLOOR_FACTOR = 1.5
#: Starts that are a sample of the fabric (the tiled and the stretched swatch): they may be at the noise floor
#: before any step, so the floor is measured before the optimiser is built.
FABRIC_STARTS: tuple[str, ...] = ("tiled", "style")
#: A layer whose guide keeps less squared mass than this (in cells) is skipped for that region.
MIN_CELLS = 16.0


@dataclass(frozen=True)
class RegionSpec:
    """A region as the optimiser sees it (tensors already at output resolution).

    Attributes:
        name: shown in reports.
        swatch: ``(1, 3, h, w)`` float in [0, 1] (already colour-matched for "histogram" mode).
        zoom: output pixels per swatch pixel.
        rotation: degrees.
        style_weight: multiplies this region's style loss.
        mapping: optional texture parameterisation (grain, drape): an object with
            ``sample(region, frame) -> (1, 3, H, W)``; None = the swatch tiled straight at ``rotation``. Every
            canvas of the render goes through it (see :mod:`garmentstyle.canvas`).
    """

    name: str
    swatch: torch.Tensor
    zoom: float
    rotation: float = 0.0
    style_weight: float = 1.0
    mapping: Optional[Any] = None


# --------------------------------------------------------------------------------------------------- style targets
class TargetCache(LRUCache):
    """Style Gram matrices per (swatch, zoom, rotation, encoder, colour, layers): computed once, reused by the
    preview and the final render, by every pyramid level that shares a scale, and by every region sharing a swatch.
    Thread-safe (:class:`garmentstyle.cache.LRUCache`); keyed by :func:`style_targets`."""


TARGETS = register("style targets", TargetCache(64))


def _canvas_side(encoder: Encoder, layers: tuple[str, ...], repeat_px: float) -> int:
    """Side of the tiled-swatch canvas the targets are measured on: big enough for the deepest layer to keep cells
    after erosion and to hold a couple of repeats, small enough to stay cheap."""
    deepest = max(encoder.geometry[n].field for n in layers)
    side = max(256, 2 * deepest, int(2.5 * repeat_px))
    return int(min(side, 640))


@torch.no_grad()
def style_targets(encoder: Encoder, swatch: torch.Tensor, *, zoom: float, rotation: float, layers: tuple[str, ...],
                  luminance_only: bool, cache: TargetCache | None = TARGETS, stats: CacheStats | None = None,
                  checkpoint: Callable[[str], None] | None = None,
                  autocast: Optional[tuple[str, torch.dtype]] = None) -> dict[str, torch.Tensor]:
    """``{layer: (C, C)}`` float32 Gram matrices of ``swatch`` tiled at ``zoom`` / ``rotation``; the encoder's pass
    under ``autocast`` ``(device_type, dtype)`` when given (:func:`garmentstyle.precision.targets_autocast_for`;
    the Grams are always fp32, and targets measured in another precision are never reused for these).

    Measured on a wrap-around tiled canvas, over the cells whose receptive field lies inside it, so the swatch's own
    borders (and the encoder's padding) never enter the statistics. (Measuring inside the single swatch instead,
    to leave out the seams of a swatch that does not tile, gave noisier targets: a 171 px swatch is a small sample
    for the deep layers, and every noise-start render got worse; see bench/RESULTS.md.) ``checkpoint("targets")``
    is called before a measurement (a cancel point inside target measurement; cache hits are instant).

    Cached in the process (``cache``, keyed by the swatch's content, placement, layers and the encoder's weights
    fingerprint) and on disk (:mod:`garmentstyle.target_store`: a later process's first render skips the pass).
    """
    if cache is None:  # measure afresh (benchmarks, tests of the measurement itself): no process or disk cache
        if checkpoint is not None:
            checkpoint("targets")
        return _measure_targets(encoder, swatch, zoom=zoom, rotation=rotation, layers=layers,
                                luminance_only=luminance_only, autocast=autocast)
    ident = (content_key(swatch), round(zoom, 4), round(rotation, 3), encoder.fingerprint(), luminance_only, layers,
             swatch.device.type)
    if autocast is not None:  # fp32 targets keep their old keys (and files on disk)
        ident += (str(autocast[1]),)

    def make() -> dict[str, torch.Tensor]:
        stored_as = target_store.key(*ident)
        stored = target_store.load(stored_as, layers)
        if stored is not None:  # measured by an earlier process: the same values, bit for bit
            if stats is not None:
                stats.from_disk += 1
            return {n: t.to(swatch.device) for n, t in stored.items()}
        if checkpoint is not None:
            checkpoint("targets")
        out = _measure_targets(encoder, swatch, zoom=zoom, rotation=rotation, layers=layers,
                               luminance_only=luminance_only, autocast=autocast)
        target_store.save_later(stored_as, out)
        return out

    return cache.get(ident + (str(swatch.device),), make, stats)


@torch.no_grad()
def _measure_targets(encoder: Encoder, swatch: torch.Tensor, *, zoom: float, rotation: float,
                     layers: tuple[str, ...], luminance_only: bool,
                     autocast: Optional[tuple[str, torch.dtype]] = None) -> dict[str, torch.Tensor]:
    """:func:`style_targets`' measurement itself (one no-grad pass on the tiled canvas)."""
    repeat = max(swatch.shape[-2:]) * zoom
    side = _canvas_side(encoder, layers, repeat)
    canvas = swatch_ops.tile(swatch, (side, side), zoom=zoom, rotation=rotation)
    if luminance_only:
        canvas = colour_ops.luminance(canvas).expand(-1, 3, -1, -1)
    if autocast is None:
        feats = encoder(canvas, layers)
    else:
        with torch.autocast(device_type=autocast[0], dtype=autocast[1]):
            feats = encoder(canvas, layers)
    ones = torch.ones(1, side, side, device=canvas.device)
    guides = guidance.propagate(ones, encoder.geometry, {n: tuple(f.shape[-2:]) for n, f in feats.items()})
    out = {}
    for n in layers:
        g, valid = losses.guided_gram(feats[n].float(), guides[n])
        if not bool(valid[0]):  # deepest layer larger than the canvas: use every cell rather than none
            g = losses.gram(feats[n].float())
        out[n] = g[0].detach()
    return out


# --------------------------------------------------------------------------------------------------- helpers
def _resize(x: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """``(B, C, h, w)`` → ``(B, C, *size)``; bilinear with antialiasing (or nearest); unchanged when same size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    if mode == "bilinear":
        return resample.bilinear(x, size)
    return F.interpolate(x, size=size, mode=mode, antialias=True, align_corners=False)


def _fine_band_std(image: torch.Tensor) -> float:
    """Std of the finest octave of ``image`` ``(1, 3, H, W)`` (what a 2× down-and-up resampling removes)."""
    h, w = image.shape[-2:]
    low = _resize(_resize(image, (max(1, h // 2), max(1, w // 2))), (h, w), "bilinear")
    return float((image - low).std()) * 1.7  # uniform noise in ±a has std a/√3; the band keeps ~⅓ of its power


def _nearest_region_labels(hard: torch.Tensor) -> torch.Tensor:  # kept for callers of the old name
    from .plan import nearest_region_labels

    return nearest_region_labels(hard)


@dataclass
class _Level:
    """One pyramid level's geometry and canvases (crop coordinates scaled by ``factor``)."""

    index: int
    factor: float
    size: tuple[int, int]
    labels: Optional[torch.Tensor]  # (h, w) long (None: not built, see _level's ``canvas``)
    masks: torch.Tensor  # (R, h, w) soft
    inside: torch.Tensor  # (1, 1, h, w) float {0, 1}
    origin: tuple[float, float]
    sketch: Optional[torch.Tensor]  # (1, 3, h, w) (None: not built)
    tiled: Optional[torch.Tensor]  # (1, 3, h, w): every region's tiled swatch (None: not needed, not built)
    offset: tuple[float, float]


def _level(plan: RenderPlan, regions: list[RegionSpec], sketch_crop: torch.Tensor, index: int, *,
           canvas: bool = True) -> _Level:
    """Level ``index``'s geometry; ``canvas`` False (a print-size render whose tiled start is kept and re-tiled
    at full size) builds only the masks the report's layer check needs: no labels, sketch or fabric canvas."""
    f = plan.factors[index]
    lh, lw = plan.level_size(f)
    y0, y1, x0, x1 = plan.box
    mask_l = _resize(plan.hard[:, y0:y1, x0:x1][None].float(), (lh, lw))[0]
    origin = (plan.origin[0] * f, plan.origin[1] * f)
    lab = sketch = tiled = None
    if canvas:
        lab = _resize(plan.labels[None, None].float(), (lh, lw), "nearest")[0, 0].long()
        sketch = _resize(sketch_crop, (lh, lw))
        # fabric canvas at this level: each pixel takes its (nearest) region's tiled swatch
        tiled = region_canvas(regions, lab, factor=f, origin=origin, offset=(x0, y0))
    return _Level(index, f, (lh, lw), lab, mask_l, (mask_l >= 0.5).any(dim=0).float()[None, None], origin,
                  sketch, tiled, (float(x0), float(y0)))


def _start(level: _Level, x_prev: torch.Tensor | None, regions: list[RegionSpec], options: RenderOptions,
           gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(init, fixed)`` ``(1, 3|1, h, w)``: where this level's optimisation starts, and what stays outside the
    masks (the tiled fabric, or the previous level)."""
    lh, lw = level.size
    device = level.tiled.device
    tiled = level.tiled
    if x_prev is None:
        if options.init == "tiled":
            init = tiled
        elif options.init == "content":
            init = level.sketch.clone()
        elif options.init == "style":
            init = region_canvas(regions, level.labels, factor=level.factor, sampler=stretch_sampler,
                                 per_region_box=False)
        else:
            init = torch.rand(1, 3, lh, lw, generator=gen).to(device)
        fixed = init
    else:
        fixed = tiled if options.init == "tiled" else _resize(x_prev, (lh, lw), "bilinear")
        init = _resize(x_prev, (lh, lw), "bilinear")
        # Upsampling blurs, and a blurred start is a poor place for Gram matching (it lacks the fine band the
        # swatch has). Put the missing band back (a Laplacian-pyramid step): from the tiled swatch for a tiled
        # start, else from noise scaled to the swatch's own fine-band contrast.
        ph, pw = x_prev.shape[-2:]
        if options.init == "tiled":
            source = tiled
        else:
            source = 0.5 + (torch.rand(1, 3, lh, lw, generator=gen).to(device) - 0.5) * 2 * _fine_band_std(tiled)
        detail = source - _resize(_resize(source, (ph, pw)), (lh, lw), "bilinear")
        init = (init + detail).clamp(0, 1)
    if options.colour == "luminance":
        init, fixed = colour_ops.luminance(init), colour_ops.luminance(fixed)
    return init, fixed


def _compose(x: torch.Tensor, inside: torch.Tensor, fixed: torch.Tensor) -> torch.Tensor:
    """The free fabric inside the masks, ``fixed`` outside; 1-channel (luminance mode) expanded to RGB."""
    # the same image when both are one (a tiled start): x·m + x·(1 − m) is x exactly for a {0, 1} mask
    out = x if x is fixed else x * inside + fixed * (1 - inside)
    return out.expand(-1, 3, -1, -1) if out.shape[1] == 1 else out


@dataclass
class _RunState:
    """What the level loop accumulates (the :class:`~garmentstyle.report.TransferReport` is built from it)."""

    levels: list = field(default_factory=list)  # one LevelReport per level (the last one replaced as it runs)
    skipped_layers: dict = field(default_factory=dict)
    final_losses: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    work_size: Optional[tuple[int, int]] = None
    stats: CacheStats = field(default_factory=CacheStats)
    cancelled_at: Optional[str] = None
    kept_tiled: set = field(default_factory=set)
    targets_autocast: Optional[tuple[str, torch.dtype]] = None  # the style-target pass's (device_type, dtype)

    def level(self, **facts) -> None:
        """Record ``facts`` (LevelReport fields) about the level that is running."""
        self.levels[-1] = dataclasses.replace(self.levels[-1], **facts)


# --------------------------------------------------------------------------------------------------- one level
def _decided(options: RenderOptions, encoder: Encoder) -> bool:
    """Whether the outcome is known before measuring anything: an encoder that only degrades a tiled start
    (measured, bench/RESULTS.md) keeps it, so targets, noise floors and the optimiser would be thrown away."""
    only_style = not (options.content_weight > 0 and encoder.content_layer is not None) and options.tv_weight == 0
    return options.init == "tiled" and only_style and not encoder.repairs_tiling


def _objective(level: _Level, fixed: torch.Tensor, regions: list[RegionSpec], plan: RenderPlan,
               use: list[list[str]], options: RenderOptions, encoder: Encoder, st: _RunState,
               rep: Reporter, cache: TargetCache | None, autocast) -> losses.GuidedStyleLoss:
    """The level's :class:`~garmentstyle.losses.GuidedStyleLoss` (style targets measured per region, a cancel
    checkpoint before each; only for the layers the region uses here, so the pass stops at the deepest of them)."""
    lum_only = options.colour == "luminance"
    targets = []
    for r, rg in enumerate(regions):
        rep.check("targets")
        if use[r]:
            targets.append(style_targets(encoder, rg.swatch, zoom=rg.zoom * level.factor, rotation=rg.rotation,
                                         layers=tuple(use[r]), luminance_only=lum_only, cache=cache, stats=st.stats,
                                         checkpoint=rep.check, autocast=st.targets_autocast))
        else:
            targets.append({})
    terms = losses.style_terms(targets, use, gram_norm=encoder.gram_norm, layer_weights=encoder.layer_weights)
    sizes = {n: encoder.feature_size(level.size, n) for n in plan.taps}
    guides = guidance.propagate(level.masks, encoder.geometry, sizes, extra_erosion=options.guide_erosion)
    content = None
    if plan.use_content:
        with torch.no_grad():
            target = encoder(level.sketch, (encoder.content_layer,))[encoder.content_layer]
        content = (encoder.content_layer, target, guides[encoder.content_layer].amax(dim=0), options.content_weight)
    return losses.GuidedStyleLoss(encoder, guides, terms, [rg.name for rg in regions],
                                  [rg.style_weight for rg in regions], content=content, tv_weight=options.tv_weight,
                                  tv_map=level.inside[0, 0], autocast=autocast)


def _usable_layers(level: _Level, plan: RenderPlan, options: RenderOptions, encoder: Encoder) -> list[list[str]]:
    """Per region, the layers whose guide keeps ≥ ``MIN_CELLS`` cells at this level (the others are skipped). Without
    extra erosion the guides are {0, 1}, so their squared mass is a cell count: counted, not built."""
    sizes = {n: encoder.feature_size(level.size, n) for n in plan.layers}
    if options.guide_erosion == 0:
        counts = guidance.inside_cell_counts(level.masks, encoder.geometry, sizes)
        return [[n for n in plan.layers if counts[n][r] >= MIN_CELLS] for r in range(level.masks.shape[0])]
    return losses.usable_layers(guidance.propagate(level.masks, encoder.geometry, sizes,
                                                   extra_erosion=options.guide_erosion), plan.layers,
                                min_cells=MIN_CELLS)


def _noise_floor(level: _Level, fixed: torch.Tensor, regions: list[RegionSpec], objective: losses.GuidedStyleLoss,
                 names: list[str], lum_only: bool) -> dict[str, float]:
    """Per region, how far another sample of the same fabric (the tiling shifted by half a repeat) is from the
    targets in this region shape: below ~``FLOOR_FACTOR`` × that, the statistics match as well as they can. One
    no-grad pass at the level's size."""
    shifted = region_canvas(regions, level.labels, factor=level.factor, origin=level.origin, shift=(0.5, 0.5),
                            offset=level.offset)
    with torch.no_grad():
        got = objective(_compose(colour_ops.luminance(shifted) if lum_only else shifted, level.inside, fixed))
    return {n: float(got.get(f"style/{n}", 0.0)) for n in names}


class _NoiseFloor:
    """:func:`_noise_floor`, measured once, when the stop rule first needs it, and recorded in the level's report.
    A start that is a sample of the fabric (``FABRIC_STARTS``) needs it at once; a noise or sketch start only at the
    first convergence check, so its measurement comes after the first gradient instead of before it — the same
    values, the same decisions, the same image."""

    def __init__(self, measure: Callable[[], dict[str, float]], st: _RunState):
        self._measure, self._st = measure, st
        self._values: dict[str, float] | None = None

    def values(self) -> dict[str, float]:
        if self._values is None:
            self._values = self._measure()
            self._st.level(noise_floor=self._values)
        return self._values


class _StopRule:
    """The convergence rule :func:`~garmentstyle.optimise.optimise` calls once at the start and then at every check
    (``previous`` None at the start and at the first check). At the start only a fabric start can be at the noise
    floor (noise or the sketch never is, so their floor waits for the first check); L-BFGS's relative test needs a
    previous check."""

    def __init__(self, options: RenderOptions, floor: _NoiseFloor | None, names: list[str]):
        self.options, self.floor, self.names = options, floor, names
        self._started = False

    def __call__(self, now: dict[str, float], previous: dict[str, float] | None) -> str | None:
        at_start, self._started = not self._started, True
        if self.floor is not None and (not at_start or self.options.init in FABRIC_STARTS) and all(
                now.get(f"style/{n}", math.inf) <= FLOOR_FACTOR * self.floor.values()[n] for n in self.names):
            return "noise floor"
        if self.options.optimizer == "lbfgs" and previous is not None:
            before, total = previous.get("total", math.inf), now.get("total", math.inf)
            if before - total < CONVERGED * abs(before) or total < CONVERGED_ABS:
                return "converged"
        return None


def _keep_better(final: torch.Tensor, level: _Level, regions: list[RegionSpec], lum_only: bool,
                 kept: dict[str, str]) -> torch.Tensor:
    """Never worse than the strong baseline: per region, keep whichever of the optimised fabric and the tiled swatch
    is closer to the swatch by an independent measure (7×7 patch distributions)."""
    base = colour_ops.luminance(level.tiled) if lum_only else level.tiled
    for r, rg in enumerate(regions):
        m = (level.labels == r) & (level.masks[r] >= 0.5)
        canvas = swatch_ops.tile(rg.swatch, (192, 192), zoom=rg.zoom * level.factor, rotation=rg.rotation)
        if lum_only:
            canvas = colour_ops.luminance(canvas)
        d_opt = texture_distance(final.expand(-1, canvas.shape[1], -1, -1), m.float(), canvas)
        d_base = texture_distance(base, m.float(), canvas)
        if d_base <= d_opt:
            final = torch.where(m, base, final)
            kept[rg.name] = f"tiled baseline (patch distance {d_base:.2f} vs {d_opt:.2f} optimised)"
        else:
            kept[rg.name] = f"optimised (patch distance {d_opt:.2f} vs {d_base:.2f} tiled)"
    return final


def _run_level(level: _Level, init: torch.Tensor, fixed: torch.Tensor, regions: list[RegionSpec], plan: RenderPlan,
               options: RenderOptions, encoder: Encoder, st: _RunState, rep: Reporter, cache: TargetCache | None,
               *, sketch: torch.Tensor, preview_every: int, autocast) -> tuple[torch.Tensor, int, dict[str, str]]:
    """Optimise one level; returns its image ``(1, 3, h, w)`` (fabric inside, ``fixed`` outside), the iterations
    run and what was kept per region, and appends the level's :class:`LevelReport` to ``st.levels``."""
    n_levels, last_level = len(plan.factors), level.index == len(plan.factors) - 1
    lum_only = options.colour == "luminance"
    st.levels.append(LevelReport(factor=round(level.factor, 4), size=(level.size[1], level.size[0])))
    start = None if init is None else _compose(init, level.inside, fixed)
    if _decided(options, encoder):  # nothing is matched, so no layer is "skipped": the layer check is not run
        kept = {rg.name: f"tiled baseline (the {encoder.name} encoder does not optimise a tiled start; nothing "
                "measured)" for rg in regions}
        st.level(converged_early=True, stopped="decided", kept=kept)
        return start, 0, kept
    use = _usable_layers(level, plan, options, encoder)
    if last_level:
        for r, rg in enumerate(regions):
            st.skipped_layers[rg.name] = [n for n in plan.layers if n not in use[r]]
    if not any(use):
        st.level(note="every guide empty at this size")
        return start, 0, {}
    names = [rg.name for r, rg in enumerate(regions) if use[r]]
    try:
        objective = _objective(level, fixed, regions, plan, use, options, encoder, st, rep, cache, autocast)
    except Cancelled as exc:  # during target measurement: keep the start image
        st.cancelled_at = exc.checkpoint or "targets"
        return start, 0, {}
    floor = None
    if objective.content is None and options.tv_weight == 0:
        floor = _NoiseFloor(functools.partial(_noise_floor, level, fixed, regions, objective, names, lum_only), st)
        if options.init in FABRIC_STARTS:  # the start may already be at the floor: known before any optimiser
            try:
                rep.check("targets")
            except Cancelled as exc:
                st.cancelled_at = exc.checkpoint or "targets"
                return start, 0, {}
            floor.values()

    def observe(step: int, terms, x: torch.Tensor | None) -> None:
        preview = None if x is None else _preview(sketch, x, plan.box, level.inside, fixed)
        rep.emit(Progress("optimise", level=level.index, levels=n_levels, step=step, total=options.iterations,
                          losses=terms, preview=preview))

    res = optimise(lambda xp: objective(_compose(xp, level.inside, fixed)), init, steps=options.iterations,
                   method=options.optimizer, lr=options.lr, stop=_StopRule(options, floor, names),
                   check_every=CHECK_EVERY, observe_every=preview_every if rep.listening else 0,
                   observe=observe if rep.listening else None, checkpoint=rep.check,
                   evaluation_checkpoint=rep.check)
    if res.stopped == "cancelled":
        st.cancelled_at = "optimise"
    kept: dict[str, str] = {}
    if res.stopped == "noise floor" and res.steps == 0:
        kept = {rg.name: f"{options.init} start (already at the noise floor)" for rg in regions}
    final = res.x.clamp(0, 1)
    if res.stopped == "diverged":
        st.notes.append(
            f"level {level.index}: the optimiser diverged; kept the last good image")
    with torch.no_grad():
        if options.init == "tiled" and res.steps and last_level:
            final = _keep_better(final, level, regions, lum_only, kept)
    st.level(iterations=res.steps, evaluations=res.evaluations, stopped=res.stopped,
             converged_early=res.stopped in ("noise floor", "converged", "stalled"), kept=kept,
             first_losses=res.first, losses=res.last)
    st.final_losses = dict(res.last)
    return _compose(final, level.inside, fixed), res.steps, kept


# --------------------------------------------------------------------------------------------------- the run
@dataclass
class TransferOutput:
    fabric: torch.Tensor  # (1, 3, H, W) at output resolution (only the crop box is meaningful)
    report: TransferReport


def run(sketch: torch.Tensor, masks: torch.Tensor, regions: list[RegionSpec], options: RenderOptions,
        encoder: Encoder, *, on_progress: ProgressFn | None = None, cancel: CancelToken | None = None,
        preview_every: int | None = None, cache: TargetCache | None = TARGETS, reporter: Reporter | None = None
        ) -> TransferOutput:
    """Optimise the fabric canvas.

    Args:
        sketch: ``(1, 3, H, W)`` float in [0, 1] at output resolution.
        masks: ``(R, H, W)`` float in [0, 1], one per region, at output resolution (validated by the caller).
        regions: one :class:`RegionSpec` per mask.
        options: render options.
        encoder: a ready encoder on the target device.
        on_progress, cancel: the :mod:`garmentstyle.progress` contract (or pass a ready ``reporter``).
        preview_every: previews every this many iterations (None: ``options.preview_every``; 0: none). Previews
            never change the result.

    Returns:
        :class:`TransferOutput`: the fabric ``(1, 3, H, W)`` and a :class:`~garmentstyle.report.TransferReport`
        (levels, evaluations, losses, skipped layers per region, timing, ``cancelled`` / ``cancelled_at``).
        Never raises :class:`Cancelled`: a cancel keeps the image reached so far.
    """
    t_start = time.perf_counter()
    rep = reporter or Reporter(on_progress, cancel)
    every = options.preview_every if preview_every is None else preview_every
    plan = plan_render(masks, options, encoder, max_work_pixels=MAX_WORK_PIXELS)
    autocast, precision_note = autocast_for(options.precision, sketch.device, encoder)
    y0, y1, x0, x1 = plan.box
    sketch_crop = sketch[..., y0:y1, x0:x1]
    st = _RunState(skipped_layers={rg.name: [] for rg in regions}, notes=[precision_note] if precision_note else [],
                   targets_autocast=targets_autocast_for(options.precision, sketch.device, encoder))
    gen = torch.Generator(device="cpu").manual_seed(options.seed)
    x_prev: torch.Tensor | None = None
    n_levels = len(plan.factors)
    for li in range(n_levels):
        try:
            rep.emit(Progress("targets", level=li, levels=n_levels))
        except Cancelled as exc:  # stop before optimising this level; the image so far is still returned
            st.cancelled_at = exc.checkpoint or "targets"
        # A print-size render whose tiled start is kept: the full-size re-tiling (in _to_output) is the result, so
        # the work-size canvas would be built only to be replaced.
        skip_canvas = _decided(options, encoder) and plan.work < 1.0 and n_levels == 1
        level = _level(plan, regions, sketch_crop, li, canvas=not skip_canvas)
        init, fixed = (None, None) if skip_canvas else _start(level, x_prev, regions, options, gen)
        if st.cancelled_at is not None:
            x_prev, steps, kept = (None if init is None else _compose(init, level.inside, fixed)), 0, {}
        else:
            x_prev, steps, kept = _run_level(level, init, fixed, regions, plan, options, encoder, st, rep, cache,
                                             sketch=sketch, preview_every=every, autocast=autocast)
        # regions whose final fabric is the tiled swatch itself (re-tiled crisp at full size for print renders)
        st.kept_tiled = {r for r, rg in enumerate(regions) if options.init == "tiled" and li == 0
                         and (steps == 0 or kept.get(rg.name, "").startswith("tiled"))}
        if st.cancelled_at is not None:
            break
    fabric = _to_output(x_prev, plan, regions, sketch, sketch_crop, options.colour == "luminance", st)
    levels = tuple(st.levels)
    report = TransferReport(
        crop_box=(x0, y0, x1, y1), levels=levels, layers=tuple(plan.layers),
        evaluations=sum(lv.evaluations for lv in levels), iterations=sum(lv.iterations for lv in levels),
        skipped_layers=st.skipped_layers, final_losses=st.final_losses, cancelled=st.cancelled_at is not None,
        cancelled_at=st.cancelled_at, target_cache=CacheStats(st.stats.hits, st.stats.misses, st.stats.from_disk),
        precision="fp32" if autocast is None else "bf16",
        target_precision="fp32" if st.targets_autocast is None else "bf16", work_size=st.work_size,
        seconds_optimise=round(time.perf_counter() - t_start, 3), notes=tuple(st.notes))
    return TransferOutput(fabric=fabric, report=report)


def _to_output(x_prev: torch.Tensor | None, plan: RenderPlan, regions: list[RegionSpec], sketch: torch.Tensor,
               sketch_crop: torch.Tensor, lum_only: bool, st: _RunState) -> torch.Tensor:
    """The last level's fabric at output size ``(1, 3, H, W)`` (the sketch outside the crop box). ``x_prev`` None:
    every region keeps its tiled start at a work scale < 1 (the full-size tiling is the fabric)."""
    y0, y1, x0, x1 = plan.box
    ch, cw = plan.crop_size
    all_tiled = len(st.kept_tiled) == len(regions)
    if x_prev is None:
        assert plan.work < 1.0 and all_tiled, "no level image: only when the full-size tiling replaces it"
        fabric_crop = None
    else:
        fabric_crop = _resize(x_prev, (ch, cw), "bilinear")
        if fabric_crop.shape[1] == 1:
            fabric_crop = fabric_crop.expand(-1, 3, -1, -1)
    if plan.work < 1.0:
        # Upsampling loses the finest band: put the tiled swatch's own band back (where the work size kept the tiled
        # start this rebuilds the full-resolution tiling; elsewhere it adds the fabric's grain).
        full = region_canvas(regions, plan.labels, factor=1.0, origin=plan.origin, offset=(x0, y0))
        if lum_only:
            full = colour_ops.luminance(full).expand(-1, 3, -1, -1)
        ph, pw = plan.level_size(plan.factors[-1]) if x_prev is None else tuple(x_prev.shape[-2:])
        if all_tiled:
            fabric_crop = full
        else:
            detailed = (fabric_crop + full - _resize(_resize(full, (ph, pw)), (ch, cw), "bilinear")).clamp(0, 1)
            for r in range(len(regions)):
                fabric_crop = torch.where(plan.labels == r, full if r in st.kept_tiled else detailed, fabric_crop)
        st.work_size = (pw, ph)
        st.notes.append(
            f"worked at {pw}×{ph} px (memory bound); the fabric was brought to {cw}×{ch} with the swatch's own "
            "fine detail")
    if lum_only:
        fabric_crop = colour_ops.combine_luminance(colour_ops.luminance(fabric_crop), sketch_crop)
    fabric = sketch.clone()
    fabric[..., y0:y1, x0:x1].copy_(fabric_crop).clamp_(0, 1)  # in place: no full-size temporary
    return fabric


@torch.no_grad()
def _preview(sketch: torch.Tensor, x: torch.Tensor, box: tuple[int, int, int, int], inside: torch.Tensor,
             fixed: torch.Tensor) -> torch.Tensor:
    """The whole image with the current fabric pasted into the crop box (no finishing: cheap, for live views)."""
    y0, y1, x0, x1 = box
    cur = _compose(x, inside, fixed)
    out = sketch.clone()
    up = _resize(cur, (y1 - y0, x1 - x0), "bilinear")
    m = _resize(inside, (y1 - y0, x1 - x0), "bilinear")
    out[..., y0:y1, x0:x1] = out[..., y0:y1, x0:x1] * (1 - m) + up * m
    return out.clamp(0, 1)
